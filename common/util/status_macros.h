#pragma once

// Abseil 2022 has no public RETURN_IF_ERROR / ASSIGN_OR_RETURN; these are the project's.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WEFT_CONCAT_INNER_(a, b) a##b
#define WEFT_CONCAT_(a, b) WEFT_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                \
  do {                                       \
    const ::absl::Status weft_status_ = (expr); \
    if (!weft_status_.ok()) {                \
      return weft_status_;                   \
    }                                        \
  } while (0)

// ASSIGN_OR_RETURN(auto x, MakeX()); returns the error status when MakeX() fails.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(WEFT_CONCAT_(weft_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) {                             \
    return std::move(statusor).status();            \
  }                                                 \
  lhs = *std::move(statusor)
