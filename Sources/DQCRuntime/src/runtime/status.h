// status.h: how the runtime's internals report failure without exceptions.
#ifndef DQC_RUNTIME_STATUS_H
#define DQC_RUNTIME_STATUS_H

#include <string>

#include "dqc_runtime.h"

namespace dqc::rt {

/// A status and, on failure, a message that names the file and place.
struct Status {
  dqc_status code = DQC_OK;
  std::string message;

  static Status ok() { return {}; }
  bool is_ok() const { return code == DQC_OK; }
};

inline Status fail(dqc_status code, std::string message) { return {code, std::move(message)}; }

/// Records `status` as the calling thread's last error and returns its code.
dqc_status report(const Status& status);

}  // namespace dqc::rt

#endif
