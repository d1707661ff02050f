/* The service process: configuration, plugins, admission, the HTTP surfaces, signals.
 *
 * Life cycle: sl_service_new() validates the config and loads the enabled plugins (everything
 * that can fail at start-up fails here, with a message a person can act on); sl_service_run()
 * starts the listeners and runs the GLib main loop until the process should exit.
 *
 * Signals: SIGTERM drains — listeners stop accepting, /availability answers 503 "draining",
 * running sessions finish, then the process exits 0. SIGINT stops running sessions cleanly and
 * exits. With nothing running, either exits at once.
 *
 * Ownership: SlService owns the config, the plugin set, the metrics registry and everything it
 * starts. Main thread only.
 */
#ifndef SL_SERVICE_H
#define SL_SERVICE_H

#include "admission.h"
#include "config.h"
#include "loader.h"
#include "metrics.h"

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SlService SlService;

/* Takes ownership of `config` (not yet validated). Validation problems are printed to stderr. */
SlService *sl_service_new(SlConfig *config, GError **error);
void sl_service_free(SlService *svc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlService, sl_service_free)

/* Start listening and run until SIGTERM/SIGINT. Returns the process exit status. */
int sl_service_run(SlService *svc);

/* Accessors for the subsystems built on the service (sessions, the bus, the API). */
SlConfig *sl_service_config(SlService *svc);
SlMetrics *sl_service_metrics(SlService *svc);
SlAdmission *sl_service_admission(SlService *svc);
SlPluginSet *sl_service_plugins(SlService *svc);
struct _SlEgresses *sl_service_egresses(SlService *svc);
struct _SlIngressStore *sl_service_ingresses(SlService *svc);
struct _SlSessions *sl_service_sessions(SlService *svc);
const char *sl_service_node_id(SlService *svc);

/* The plugin path and enabled list the config resolves to (shared with `sluice plugins`). */
GStrv sl_service_plugin_path(SlConfig *config, GPtrArray *diags);
GStrv sl_service_plugin_enable(SlConfig *config, GPtrArray *diags);

/* Load the config's enabled plugins into `set`, add their keys to the schema and validate.
 * Prints the diagnostics to stderr. Used by the service and by `sluice config check`. */
gboolean sl_service_prepare_config(SlConfig *config, SlPluginSet **out_set, gboolean quiet_ok,
                                   GError **error);

G_END_DECLS

#endif /* SL_SERVICE_H */
