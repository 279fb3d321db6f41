// ICU's regex C API through the ICU Foundation loads (see dqc_icu_regex.h). The prototypes are
// declared here, not taken from ICU's headers: the toolchain's ICU headers rename every entry
// point by macro and are not on a C target's include path, and the few declarations below are
// ICU's stable C ABI (uregex.h, utypes.h, parseerr.h).
#include "dqc_icu_regex.h"

#include <stddef.h>
#include <stdlib.h>

#if defined(__APPLE__)
#define DQC_ICU(name) name
#else
#define DQC_ICU(name) swift_##name
#endif

typedef uint16_t UChar;
typedef int8_t UBool;
typedef int UErrorCode;
typedef struct URegularExpression URegularExpression;
typedef struct UParseError {
  int32_t line;
  int32_t offset;
  UChar preContext[16];
  UChar postContext[16];
} UParseError;
typedef UBool URegexMatchCallback(const void *context, int32_t steps);

enum { UREGEX_LITERAL = 16 };

URegularExpression *DQC_ICU(uregex_open)(const UChar *pattern, int32_t patternLength,
                                         uint32_t flags, UParseError *pe, UErrorCode *status);
URegularExpression *DQC_ICU(uregex_clone)(const URegularExpression *regexp, UErrorCode *status);
void DQC_ICU(uregex_close)(URegularExpression *regexp);
void DQC_ICU(uregex_setText)(URegularExpression *regexp, const UChar *text, int32_t textLength,
                             UErrorCode *status);
void DQC_ICU(uregex_setTimeLimit)(URegularExpression *regexp, int32_t limit, UErrorCode *status);
void DQC_ICU(uregex_setMatchCallback)(URegularExpression *regexp, URegexMatchCallback *callback,
                                      const void *context, UErrorCode *status);
UBool DQC_ICU(uregex_findNext)(URegularExpression *regexp, UErrorCode *status);
int32_t DQC_ICU(uregex_start)(URegularExpression *regexp, int32_t groupNum, UErrorCode *status);
int32_t DQC_ICU(uregex_end)(URegularExpression *regexp, int32_t groupNum, UErrorCode *status);
const char *DQC_ICU(u_errorName)(UErrorCode code);

struct dqc_icu_matcher {
  URegularExpression *regex;
  int32_t steps;  // ICU's step count, reported by the match callback at every step
};

dqc_icu_regex *dqc_icu_regex_open(const uint16_t *pattern, int32_t length, int literal,
                                  int32_t *status, int32_t *line, int32_t *offset) {
  UErrorCode error = 0;
  UParseError pe = {0, -1, {0}, {0}};
  URegularExpression *r = NULL;
  if (pattern != NULL && length > 0) {
    r = DQC_ICU(uregex_open)(pattern, length, literal ? UREGEX_LITERAL : 0, &pe, &error);
  } else {
    error = DQC_ICU_ILLEGAL_ARGUMENT_ERROR;  // ICU refuses an empty pattern so, too
  }
  if (error > 0 && r != NULL) {
    DQC_ICU(uregex_close)(r);
    r = NULL;
  }
  *status = error;
  *line = pe.line;
  *offset = pe.offset;
  return (dqc_icu_regex *)r;
}

void dqc_icu_regex_close(dqc_icu_regex *regex) {
  if (regex != NULL) DQC_ICU(uregex_close)((URegularExpression *)regex);
}

// Called by ICU once per step (10,000 backtracking states) with the steps so far; never stops
// the match (the time limit does).
static UBool count_steps(const void *context, int32_t steps) {
  ((dqc_icu_matcher *)context)->steps = steps;
  return 1;
}

dqc_icu_matcher *dqc_icu_matcher_open(const dqc_icu_regex *regex, const uint16_t *text,
                                      int32_t length, int32_t time_limit, int32_t *status) {
  UErrorCode error = 0;
  if (time_limit < 1) {
    *status = DQC_ICU_ILLEGAL_ARGUMENT_ERROR;  // 0 would mean no limit to ICU
    return NULL;
  }
  dqc_icu_matcher *m = (dqc_icu_matcher *)calloc(1, sizeof *m);
  if (m == NULL) {
    *status = 7;  // U_MEMORY_ALLOCATION_ERROR
    return NULL;
  }
  m->regex = DQC_ICU(uregex_clone)((const URegularExpression *)regex, &error);
  // ICU takes a NULL text as an error even when empty; any valid pointer does for length 0.
  static const UChar empty = 0;
  if (error <= 0) DQC_ICU(uregex_setText)(m->regex, text != NULL ? text : &empty, length, &error);
  if (error <= 0) DQC_ICU(uregex_setTimeLimit)(m->regex, time_limit, &error);
  if (error <= 0) DQC_ICU(uregex_setMatchCallback)(m->regex, count_steps, m, &error);
  if (error > 0) {
    dqc_icu_matcher_close(m);
    m = NULL;
  }
  *status = error;
  return m;
}

int dqc_icu_matcher_find_next(dqc_icu_matcher *matcher, int32_t *start, int32_t *end,
                              int32_t *status) {
  UErrorCode error = 0;
  UBool found = DQC_ICU(uregex_findNext)(matcher->regex, &error);
  if (error <= 0 && found) {
    *start = DQC_ICU(uregex_start)(matcher->regex, 0, &error);
    *end = DQC_ICU(uregex_end)(matcher->regex, 0, &error);
  }
  *status = error;
  if (error > 0) return -1;
  return found ? 1 : 0;
}

int32_t dqc_icu_matcher_steps(const dqc_icu_matcher *matcher) { return matcher->steps; }

void dqc_icu_matcher_close(dqc_icu_matcher *matcher) {
  if (matcher == NULL) return;
  if (matcher->regex != NULL) DQC_ICU(uregex_close)(matcher->regex);
  free(matcher);
}

const char *dqc_icu_error_name(int32_t status) { return DQC_ICU(u_errorName)(status); }
