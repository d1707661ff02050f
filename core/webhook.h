/* Webhooks in LiveKit's format, so LiveKit's WebhookReceiver verifies them.
 *
 * Each event is a WebhookEvent JSON body ({"event", "id", "createdAt", "ingressInfo" |
 * "egressInfo"}) POSTed as application/webhook+json with an `Authorization` header holding a JWT
 * signed with the API secret whose `sha256` claim is the base64 SHA-256 of the body. Configured
 * as LiveKit's server spells it: `webhook: {urls: [...], api_key: ...}`.
 *
 * Delivery never blocks a session: events queue per URL (bounded; the oldest are dropped with a
 * warning past the cap) and are sent one at a time in order, each retried with exponential
 * back-off (1 s doubling to 30 s, 6 attempts) before it is given up with a log line.
 *
 * Ownership: SlWebhooks copies what it is given. Main thread only.
 */
#ifndef SL_WEBHOOK_H
#define SL_WEBHOOK_H

#include "config.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _SlWebhooks SlWebhooks;

/* NULL (and no error) when no webhook URLs are configured. Fails when URLs are configured but no
 * API key/secret pair can sign them. */
SlWebhooks *sl_webhooks_new(SlConfig *config, GError **error);
void sl_webhooks_free(SlWebhooks *wh);

/* Queue an event. `info_field` is "ingressInfo" or "egressInfo"; `info_json` is the canonical
 * protobuf JSON text of that message (transfer none). */
void sl_webhooks_send(SlWebhooks *wh, const char *event, const char *info_field,
                      const char *info_json);

/* Events still waiting to be delivered (for tests and metrics). */
guint sl_webhooks_pending(SlWebhooks *wh);

G_END_DECLS

#endif /* SL_WEBHOOK_H */
