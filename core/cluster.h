/* The cluster: what this worker shares with the other workers over the job bus (bus.h).
 *
 *   ingresses   Every worker keeps the whole set in its SlIngressStore, as a cache of the bus's
 *               store. Changes made here (the API's create / update / delete, a session's state)
 *               are put on the bus; changes made elsewhere arrive as events and are applied here.
 *               So any worker takes a publish for any ingress, and refuses a second publisher
 *               of an ingress that is live on another worker.
 *   ownership   A worker that starts a session claims its ingress; when the claim is held
 *               elsewhere (two publishers racing on two workers) the new session is ended. The
 *               worker that runs an egress claims it. Claims are what reaping works from.
 *   egresses    EgressInfos of egresses run here are put on every change; those of other workers
 *               are cached from events, for ListEgress and StopEgress on any worker.
 *   control     A request for a session or egress that runs elsewhere goes to its owner
 *               (start_egress, stop_egress, stop_ingress) and its answer comes back.
 *   failure     When a worker's heartbeat expires, the survivor that wins the reap marks that
 *               worker's ingresses ENDPOINT_ERROR and its egresses EGRESS_FAILED, with the reason.
 *   resync      After the bus reconnects (a Redis restart), this worker puts again what it is
 *               the source of (its live ingresses, the ingresses made through its API or its
 *               config, its egresses) and re-reads everything else.
 *
 * With no `redis:` the bus is the local backend and the cluster is this one worker: the same
 * code runs, every request is local.
 *
 * Records carry the id of the worker that wrote them ("writer"), so a worker skips the echo of
 * its own writes; a record of an ingress whose session runs here never overwrites its live state.
 *
 * Ownership: SlCluster borrows what SlClusterEnv points to (all of it must outlive it) and owns
 * its bus. Main thread only.
 */
#ifndef SL_CLUSTER_H
#define SL_CLUSTER_H

#include "bus.h"
#include "egress.h"
#include "ingress.h"
#include "session.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _SlCluster SlCluster;

typedef struct {
  SlConfig *config;
  SlIngressStore *ingresses;
  SlSessions *sessions;
  SlEgresses *egresses;
  const char *node_id;
  /* This worker reaped another's ingress or egress and changed its state (transfer none): the
   * service sends the webhooks the dead worker could not. */
  void (*on_reaped_ingress)(SlIngress *ing, gpointer user_data);
  void (*on_reaped_egress)(JsonObject *info, gpointer user_data);
  gpointer user_data;
} SlClusterEnv;

/* The bus from `redis:` (or the local one) for this worker. Fails on a `redis:` that cannot be
 * used (an address that does not parse, use_tls). Nothing is sent before sl_cluster_start. */
SlCluster *sl_cluster_new(const SlClusterEnv *env, GError **error);
void sl_cluster_free(SlCluster *cl);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlCluster, sl_cluster_free)

SlBus *sl_cluster_bus(SlCluster *cl);
/* "local" or "redis". */
const char *sl_cluster_backend(SlCluster *cl);

/* Joins: subscribes to the record events, reads the store into the caches (a configured ingress
 * already in the store takes the stored key and state), puts what only this worker has, and
 * registers the worker with `info` (JSON object, transfer none) and its heartbeat. */
void sl_cluster_start(SlCluster *cl, JsonObject *info);
/* Leaves cleanly (SIGTERM/SIGINT exit): unregisters, which drops this worker's claims. */
void sl_cluster_leave(SlCluster *cl);

/* This worker changed an ingress (its settings, or its session's state): put it, and claim or
 * release its ownership as its session starts or ends here. */
void sl_cluster_ingress_changed(SlCluster *cl, SlIngress *ing);
/* An ingress was created through this worker's API: put it; this worker puts it again after a
 * Redis restart. */
void sl_cluster_ingress_created(SlCluster *cl, SlIngress *ing);
/* The ingress was deleted here (call before it is freed). */
void sl_cluster_ingress_deleted(SlCluster *cl, SlIngress *ing);
/* An egress run here changed (transfer none). */
void sl_cluster_egress_changed(SlCluster *cl, JsonObject *info);

/* Cached infos of egresses run by other workers, filtered as sl_egresses_list filters
 * (appended to `into`, copies). */
void sl_cluster_remote_egresses(SlCluster *cl, const char *room, const char *egress_id,
                                gboolean active_only, JsonArray *into);
/* The cached info of an egress run elsewhere (transfer full), or NULL. */
JsonObject *sl_cluster_remote_egress(SlCluster *cl, const char *egress_id);

/* Answer of a request to another worker: `reply` is the owner's answer object, or NULL with
 * `error` set when it could not be reached (SL_BUS_ERROR). Transfer none. */
typedef void (*SlClusterReplyFunc)(JsonObject *reply, const GError *error, gpointer user_data);

/* Sends `request` (an object with "op": "start_egress" {kind, request}, "stop_egress"
 * {egress_id} or "stop_ingress" {ingress_id, reason}) to `worker`. The owner answers with
 * {"info": EgressInfo} or {"error_code": SlEgressError, "error": text} for egress requests and
 * {} for stop_ingress. */
void sl_cluster_request(SlCluster *cl, const char *worker, JsonObject *request,
                        SlClusterReplyFunc func, gpointer user_data);
/* sl_cluster_request to whichever worker holds the egress's claim. */
void sl_cluster_request_egress_owner(SlCluster *cl, const char *egress_id, JsonObject *request,
                                     SlClusterReplyFunc func, gpointer user_data);

G_END_DECLS

#endif /* SL_CLUSTER_H */
