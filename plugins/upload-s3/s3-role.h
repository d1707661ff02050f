/* upload-s3 — a role's temporary credentials: STS AssumeRole, and a cache that every upload of
 * the process shares.
 *
 * A target with assume_role_arn signs its S3 requests with what this module hands out. The
 * cache is keyed by everything that decides which credentials STS gives and who may have them:
 * the base access key, its secret and session token (hashed: a target with the right key id but
 * a wrong secret must not borrow what another target's secret obtained), the role ARN, the
 * external id, and the STS endpoint and region.
 *
 * Refresh: credentials are replaced once less than s3_sts_refresh_margin() of their lifetime is
 * left (180 s of STS's 900), so an upload or a recording that outlasts them moves on to new ones.
 * The lifetime is Expiration minus the answer's Date, both STS's clock, counted from the answer's
 * arrival on the monotonic clock: a local clock that is off does not matter. One AssumeRole per
 * entry at a time: threads that need the entry meanwhile wait for that call's result instead of
 * making their own (the part workers of a multipart upload share one). When a refresh fails
 * while the current credentials still work, those are used, the failure logged, and the next
 * refresh tried 10 s later.
 *
 * The call goes through the target's proxy (s3_client_session_new) and is retried as S3 requests
 * are (s3-retry.h, the target's max_retries and delays): connection failures, 5xx, throttling.
 * A refusal (AccessDenied, the ValidationError of a malformed ARN, InvalidClientTokenId) is
 * final at once, and its GError names the role ARN, the STS endpoint and STS's Code and Message;
 * never a secret.
 *
 * Ownership: returned credentials are transfer full (s3_credentials_unref); `target` and
 * `stale` transfer none. The cache lives as long as the process; entries whose credentials ran
 * out are dropped as new entries come.
 * Threading: any thread, concurrently; the target is only read (its clock skew atomically).
 */
#ifndef S3_ROLE_H
#define S3_ROLE_H

#include "s3-sts.h"
#include "s3-target.h"

G_BEGIN_DECLS

/* The credentials to sign `target`'s next request with (target->assume_role_arn is set).
 * `stale` (may be NULL): credentials S3 just answered ExpiredToken to; the result is never
 * those (new ones are fetched unless another thread already replaced them). NULL with `error`
 * when STS gives none and no usable ones are cached. */
S3Credentials *s3_role_credentials(S3Target *target, S3Credentials *stale, GError **error);

G_END_DECLS

#endif /* S3_ROLE_H */
