// A few calls of ICU's regular-expression C API (uregex.h), for the tokenizer's regexes (`Split`
// pre-tokenizer patterns, ByteLevel's and Whitespace's): compile, match over UTF-16 with a work
// limit, close.
//
// The ICU is the one Foundation already loads, so patterns mean exactly what they meant under
// NSRegularExpression (which is ICU's regex too): on Linux the Swift toolchain's
// `lib_FoundationICU` (its entry points carry a `swift_` prefix), on Apple platforms the system's
// `libicucore`. dqc calls ICU directly instead of NSRegularExpression because swift-corelibs-
// foundation's `_CFRegularExpressionCreate` leaks its copy of every pattern longer than 256 UTF-16
// units that compiles, and NSRegularExpression has no limit on the work of a match.
#ifndef DQC_ICU_REGEX_H
#define DQC_ICU_REGEX_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled pattern (ICU's `URegularExpression`).
typedef struct dqc_icu_regex dqc_icu_regex;

/// A pattern's matcher over one text.
typedef struct dqc_icu_matcher dqc_icu_matcher;

/// ICU error codes dqc names (from ICU's utypes.h; 0 is U_ZERO_ERROR, negative codes are warnings).
enum {
  DQC_ICU_ILLEGAL_ARGUMENT_ERROR = 1,
  DQC_ICU_REGEX_STACK_OVERFLOW = 0x10311,
  DQC_ICU_REGEX_TIME_OUT = 0x10312,
};

/// Compiles `pattern` (`length` UTF-16 units) with ICU's default flags (those of
/// NSRegularExpression without options), or, when `literal` is nonzero, as literal text
/// (UREGEX_LITERAL). Returns NULL when it does not compile: `*status` is ICU's error code,
/// `*line` and `*offset` where ICU places the error (its UParseError; `*line` < 1 when it gives
/// no line). Nothing is allocated then.
dqc_icu_regex *dqc_icu_regex_open(const uint16_t *pattern, int32_t length, int literal,
                                  int32_t *status, int32_t *line, int32_t *offset);

/// Frees a pattern (NULL is ignored).
void dqc_icu_regex_close(dqc_icu_regex *regex);

/// A matcher of `regex` over `text` (`length` UTF-16 units, which must outlive the matcher): a
/// clone sharing the compiled pattern, so matchers of one pattern may run on several threads.
/// `time_limit` (at least 1) bounds the text's matching in ICU's steps of 10,000 backtracking
/// states (uregex_setTimeLimit); ICU's backtracking stack keeps its default limit (8 million
/// 32-bit words). Returns NULL with `*status` set on failure.
dqc_icu_matcher *dqc_icu_matcher_open(const dqc_icu_regex *regex, const uint16_t *text,
                                      int32_t length, int32_t time_limit, int32_t *status);

/// The next match (uregex_findNext): 1 with its UTF-16 range [*start, *end), 0 when there is
/// none, -1 with `*status` set when matching failed (DQC_ICU_REGEX_TIME_OUT,
/// DQC_ICU_REGEX_STACK_OVERFLOW, ...).
int dqc_icu_matcher_find_next(dqc_icu_matcher *matcher, int32_t *start, int32_t *end,
                              int32_t *status);

/// The steps the matcher has used so far (whole steps, as ICU counts them against the limit).
int32_t dqc_icu_matcher_steps(const dqc_icu_matcher *matcher);

/// Frees a matcher (NULL is ignored).
void dqc_icu_matcher_close(dqc_icu_matcher *matcher);

/// ICU's name of an error code, such as "U_REGEX_MISMATCHED_PAREN".
const char *dqc_icu_error_name(int32_t status);

#ifdef __cplusplus
}
#endif

#endif
