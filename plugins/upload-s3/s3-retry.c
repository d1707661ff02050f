/* upload-s3 — retry policy and back-off. See s3-retry.h. */
#include "s3-retry.h"

#include <math.h>
#include <string.h>

static gboolean code_in(const char *code, const char *const *list)
{
  for (guint i = 0; list[i] != NULL; i++)
    if (strcmp(code, list[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean s3_retry_is_retryable(guint status, const char *code)
{
  static const char *const never[] = {
      "SignatureDoesNotMatch", "AccessDenied",
      "InvalidAccessKeyId",    "InvalidToken",
      "ExpiredToken",          "AuthorizationHeaderMalformed",
      "EntityTooSmall",        "EntityTooLarge",
      "InvalidPart",           "InvalidPartOrder",
      "NoSuchBucket",          "NoSuchUpload",
      "InvalidBucketName",     "InvalidArgument",
      "MissingContentLength",  "NotImplemented",
      "MethodNotAllowed",      "AllAccessDisabled",
      "AccountProblem",        "InvalidObjectState",
      "PermanentRedirect",     NULL,
  };
  static const char *const always[] = {
      "RequestTimeout",
      "RequestTimeTooSkewed",
      "InternalError",
      "SlowDown",
      "Throttling",
      "ThrottlingException",
      "RequestLimitExceeded",
      "ServiceUnavailable",
      "OperationAborted",
      "RequestThrottled",
      "TooManyRequestsException",
      "BadDigest",
      NULL,
  };
  if (status == 0)
    return TRUE;
  if (code != NULL && code_in(code, never))
    return FALSE;
  if (code != NULL && code_in(code, always))
    return TRUE;
  return status == 409 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

double s3_retry_delay(guint failures, double min_delay, double max_delay, double random01)
{
  double ceiling;
  if (min_delay < 0)
    min_delay = 0;
  if (max_delay < min_delay)
    max_delay = min_delay;
  ceiling = min_delay * ldexp(1.0, (int)MIN(failures > 0 ? failures - 1 : 0, 30));
  if (ceiling > max_delay)
    ceiling = max_delay;
  return MAX(min_delay, ceiling / 2 + random01 * ceiling / 2);
}
