/* The LiveKit-compatible API on api_port: livekit.Ingress and livekit.Egress over Twirp JSON.
 *
 * Methods map onto the node's ingress store, sessions and egresses (ingress.h, session.h,
 * egress.h). Auth is LiveKit's: a Bearer JWT signed with api_secret whose `iss` is api_key, with
 * the video grant `ingressAdmin` (Ingress) or `roomRecord` (Egress).
 *
 * Ownership: SlApi borrows everything it is given; it owns its SoupServer. Main thread only.
 */
#ifndef SL_API_H
#define SL_API_H

#include "cluster.h"
#include "config.h"
#include "egress.h"
#include "ingress.h"
#include "session.h"

G_BEGIN_DECLS

typedef struct _SlApi SlApi;

typedef struct {
  SlConfig *config;
  SlIngressStore *ingresses;
  SlSessions *sessions;
  SlEgresses *egresses;
  SlCluster *cluster; /* requests for sessions and egresses on other workers go through it */
} SlApiEnv;

/* Listen on api_port (0 or -1: no API, returns a disabled SlApi). Fails when api_port is set but
 * api_key / api_secret are not, or the port cannot be bound. */
SlApi *sl_api_new(const SlApiEnv *env, GError **error);
void sl_api_free(SlApi *api);

/* IngressInfo of `ing` in proto field names (transfer full). Shared with events and webhooks. */
JsonObject *sl_api_ingress_info(SlApi *api, SlIngress *ing);

G_END_DECLS

#endif /* SL_API_H */
