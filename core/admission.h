/* admission.h — CPU-cost admission: may this node take one more job?
 *
 * Capacity is max_cpu_utilization × ncpu cores. Every job type has a cost in cores (set from the
 * cpu_cost: config). Accepting a job reserves its cost, but the CPU measurement only sees a job
 * some seconds after it starts, so the reservation is *held*: while held, a job counts as
 * max(measured, cost). The hold ends for good when the job's measured usage reaches its cost or
 * hold_seconds after acceptance, whichever is first; from then on the job is only what the machine
 * measurement already contains.
 *
 *   usage     = measured busy cores of the whole machine
 *             + Σ over held jobs of max(0, cost − measured_job_cores)
 *   available = max(0, capacity − usage)
 *
 * A request fits when available ≥ its cost. The node is "available" (/availability, the
 * livekit_*_available gauges) when the largest configured cost still fits and it is not draining.
 *
 * Times are monotonic microseconds (g_get_monotonic_time()) supplied by the caller, so tests can
 * drive a fake clock. Holds expire lazily: every query looks at @now_us, and sl_admission_tick()
 * only makes the expiry permanent.
 *
 * Ownership: sl_admission_new() returns a registry owned by the caller (sl_admission_free or
 * g_autoptr). String arguments are copied. Strings returned through `why` are transfer full
 * (g_free); the type returned by sl_admission_max_cost() is transfer none, valid until the next
 * sl_admission_set_cost() or sl_admission_free().
 *
 * Threads: none of this is locked. Every function is called from the service's main loop thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SL_ADMISSION_DEFAULT_MAX_CPU_UTILIZATION 0.8
#define SL_ADMISSION_DEFAULT_HOLD_SECONDS        5.0

#define SL_ADMISSION_ERROR (sl_admission_error_quark())
GQuark sl_admission_error_quark(void);

typedef enum {
  SL_ADMISSION_ERROR_NO_CAPACITY,  /* the job's cost does not fit in the available cores */
  SL_ADMISSION_ERROR_UNKNOWN_TYPE, /* no cost is configured for the job type */
  SL_ADMISSION_ERROR_DRAINING,     /* the node is shutting down and takes no new jobs */
  SL_ADMISSION_ERROR_DUPLICATE,    /* the job id already holds a reservation */
} SlAdmissionError;

typedef struct _SlAdmission SlAdmission;

/* @ncpu > 0, 0 < @max_cpu_utilization, @hold_seconds ≥ 0. Transfer full. */
SlAdmission *sl_admission_new(double ncpu, double max_cpu_utilization, double hold_seconds);
void sl_admission_free(SlAdmission *adm);

/* Sets (or replaces) the cost of @job_type in cores, @cores ≥ 0. Jobs already accepted keep the
 * cost they were accepted with. */
void sl_admission_set_cost(SlAdmission *adm, const char *job_type, double cores);
/* The configured cost of @job_type, or -1 when the type has none. */
double sl_admission_get_cost(SlAdmission *adm, const char *job_type);

/* Busy cores of the whole machine, from sl_cpu_monitor_busy_cores(). */
void sl_admission_set_node_busy(SlAdmission *adm, double busy_cores);

/* Reserves the cost of @job_type for @job_id if it fits. On refusal returns FALSE with an
 * SL_ADMISSION_ERROR whose message a person can act on, e.g.
 * "not enough CPU: rtmp needs 2.00 cores, 0.75 of 1.60 available". */
gboolean sl_admission_reserve(SlAdmission *adm, const char *job_type, const char *job_id,
                              gint64 now_us, GError **error);

/* Records the cores @job_id was measured using (from sl_cpu_monitor_pid_cores()). Ends the job's
 * hold once the measurement reaches its cost. Unknown ids are ignored: the job may have been
 * released already. */
void sl_admission_update_job(SlAdmission *adm, const char *job_id, double measured_cores,
                             gint64 now_us);

/* Frees @job_id's reservation. Unknown ids are ignored. */
void sl_admission_release(SlAdmission *adm, const char *job_id);

/* Ends every hold older than hold_seconds at @now_us. */
void sl_admission_tick(SlAdmission *adm, gint64 now_us);

/* max_cpu_utilization × ncpu. */
double sl_admission_capacity(SlAdmission *adm);
/* Cores still free at @now_us (never negative). */
double sl_admission_available_cores(SlAdmission *adm, gint64 now_us);

/* Whether a job of @job_type would be accepted now: known type, not draining, cost fits. */
gboolean sl_admission_can_accept(SlAdmission *adm, const char *job_type, gint64 now_us);

/* Whether the node can take a job of its largest configured cost and is not draining. When it
 * cannot and @why is not NULL, *@why is set to a one-line reason (transfer full), e.g. "draining"
 * or "no capacity: largest job (room_composite, 4.00 cores) does not fit in 1.20 available
 * cores"; otherwise *@why is set to NULL. */
gboolean sl_admission_node_available(SlAdmission *adm, gint64 now_us, char **why);

/* Whether the largest cost among @types (NULL-terminated; types without a configured cost are
 * skipped) fits at @now_us and the node is not draining. FALSE when none of @types has a cost.
 * Lets the ingress gauge consider ingress types only and the egress gauge egress types only. */
gboolean sl_admission_type_fits(SlAdmission *adm, const char *const *types, gint64 now_us);

/* While draining, every reservation is refused with SL_ADMISSION_ERROR_DRAINING. */
void sl_admission_set_draining(SlAdmission *adm, gboolean draining);
gboolean sl_admission_is_draining(SlAdmission *adm);

/* Number of jobs holding a reservation (held or not). */
guint sl_admission_job_count(SlAdmission *adm);

/* The largest configured cost (0 when none), and in *@out_type (may be NULL) its type or NULL.
 * Ties go to the type whose name sorts first, so the answer is stable. */
double sl_admission_max_cost(SlAdmission *adm, const char **out_type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SlAdmission, sl_admission_free)

G_END_DECLS
