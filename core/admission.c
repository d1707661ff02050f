/* admission.c — CPU-cost admission. See admission.h for the model. */
#include "admission.h"

#include <math.h>

G_DEFINE_QUARK(sl - admission - error - quark, sl_admission_error)

/* Costs and usages are sums of doubles; a request that fits exactly must not be refused because
 * of the last bit of rounding. */
#define FIT_EPSILON 1e-9

typedef struct {
  char *type;
  double cost;     /* cost at acceptance */
  double measured; /* last measured cores */
  gint64 accepted_us;
  gboolean held; /* FALSE once the hold has ended; it never starts again */
} Job;

struct _SlAdmission {
  double ncpu;
  double max_utilization;
  gint64 hold_us;
  double node_busy;
  gboolean draining;
  GHashTable *costs; /* type (owned) -> double* (owned) */
  GHashTable *jobs;  /* id (owned) -> Job* (owned) */
};

static void job_free(gpointer data)
{
  Job *job = data;

  g_free(job->type);
  g_free(job);
}

SlAdmission *sl_admission_new(double ncpu, double max_cpu_utilization, double hold_seconds)
{
  SlAdmission *adm;

  g_return_val_if_fail(ncpu > 0, NULL);
  g_return_val_if_fail(max_cpu_utilization > 0, NULL);
  g_return_val_if_fail(hold_seconds >= 0, NULL);

  adm = g_new0(SlAdmission, 1);
  adm->ncpu = ncpu;
  adm->max_utilization = max_cpu_utilization;
  adm->hold_us = (gint64)llround(hold_seconds * G_USEC_PER_SEC);
  adm->costs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  adm->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, job_free);
  return adm;
}

void sl_admission_free(SlAdmission *adm)
{
  if (adm == NULL)
    return;
  g_hash_table_destroy(adm->costs);
  g_hash_table_destroy(adm->jobs);
  g_free(adm);
}

void sl_admission_set_cost(SlAdmission *adm, const char *job_type, double cores)
{
  double *slot;

  g_return_if_fail(adm != NULL);
  g_return_if_fail(job_type != NULL);
  g_return_if_fail(cores >= 0 && isfinite(cores));

  slot = g_new(double, 1);
  *slot = cores;
  g_hash_table_insert(adm->costs, g_strdup(job_type), slot);
}

double sl_admission_get_cost(SlAdmission *adm, const char *job_type)
{
  const double *slot;

  g_return_val_if_fail(adm != NULL, -1);
  g_return_val_if_fail(job_type != NULL, -1);

  slot = g_hash_table_lookup(adm->costs, job_type);
  return slot ? *slot : -1;
}

void sl_admission_set_node_busy(SlAdmission *adm, double busy_cores)
{
  g_return_if_fail(adm != NULL);
  adm->node_busy = isfinite(busy_cores) && busy_cores > 0 ? busy_cores : 0;
}

/* A hold ends either explicitly (the measurement caught up, or a tick after expiry cleared the
 * flag) or implicitly when @now_us is past the hold window; checking the window here means a
 * caller that forgets to tick still gets the right answer. */
static gboolean job_is_held(const SlAdmission *adm, const Job *job, gint64 now_us)
{
  return job->held && now_us - job->accepted_us < adm->hold_us;
}

double sl_admission_capacity(SlAdmission *adm)
{
  g_return_val_if_fail(adm != NULL, 0);
  return adm->max_utilization * adm->ncpu;
}

double sl_admission_available_cores(SlAdmission *adm, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;
  double usage;

  g_return_val_if_fail(adm != NULL, 0);

  usage = adm->node_busy;
  g_hash_table_iter_init(&iter, adm->jobs);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    const Job *job = value;
    /* Only the part of a held job the machine measurement has not yet seen is added, so a job
     * that is halfway to its cost is not counted twice. */
    if (job_is_held(adm, job, now_us))
      usage += MAX(0.0, job->cost - job->measured);
  }
  return MAX(0.0, sl_admission_capacity(adm) - usage);
}

static gboolean fits(double available, double cost)
{
  return available + FIT_EPSILON >= cost;
}

/* Formats with two decimals and a '.' whatever the process locale is; small non-zero costs keep
 * two significant digits so that 0.001 does not read as 0.00. */
static const char *fmt2(char *buf, gsize len, double v)
{
  if (v != 0 && v > -0.1 && v < 0.1)
    return g_ascii_formatd(buf, (int)len, "%.2g", v);
  return g_ascii_formatd(buf, (int)len, "%.2f", v);
}

gboolean sl_admission_reserve(SlAdmission *adm, const char *job_type, const char *job_id,
                              gint64 now_us, GError **error)
{
  const double *cost;
  double available;
  Job *job;

  g_return_val_if_fail(adm != NULL, FALSE);
  g_return_val_if_fail(job_type != NULL, FALSE);
  g_return_val_if_fail(job_id != NULL, FALSE);
  g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

  if (adm->draining) {
    g_set_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_DRAINING,
                "node is draining: not accepting new %s jobs", job_type);
    return FALSE;
  }
  cost = g_hash_table_lookup(adm->costs, job_type);
  if (cost == NULL) {
    g_set_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_UNKNOWN_TYPE,
                "unknown job type \"%s\": no CPU cost configured", job_type);
    return FALSE;
  }
  if (g_hash_table_contains(adm->jobs, job_id)) {
    g_set_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_DUPLICATE,
                "job %s already holds a reservation", job_id);
    return FALSE;
  }
  available = sl_admission_available_cores(adm, now_us);
  if (!fits(available, *cost)) {
    char need[G_ASCII_DTOSTR_BUF_SIZE], avail[G_ASCII_DTOSTR_BUF_SIZE],
        cap[G_ASCII_DTOSTR_BUF_SIZE];
    g_set_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_NO_CAPACITY,
                "not enough CPU: %s needs %s cores, %s of %s available", job_type,
                fmt2(need, sizeof need, *cost), fmt2(avail, sizeof avail, available),
                fmt2(cap, sizeof cap, sl_admission_capacity(adm)));
    return FALSE;
  }

  job = g_new0(Job, 1);
  job->type = g_strdup(job_type);
  job->cost = *cost;
  job->accepted_us = now_us;
  /* A job of cost 0 has nothing to hold. */
  job->held = job->cost > 0 && adm->hold_us > 0;
  g_hash_table_insert(adm->jobs, g_strdup(job_id), job);
  return TRUE;
}

void sl_admission_update_job(SlAdmission *adm, const char *job_id, double measured_cores,
                             gint64 now_us)
{
  Job *job;

  g_return_if_fail(adm != NULL);
  g_return_if_fail(job_id != NULL);

  job = g_hash_table_lookup(adm->jobs, job_id);
  if (job == NULL)
    return;
  job->measured = isfinite(measured_cores) && measured_cores > 0 ? measured_cores : 0;
  if (!job_is_held(adm, job, now_us) || job->measured >= job->cost)
    job->held = FALSE;
}

void sl_admission_release(SlAdmission *adm, const char *job_id)
{
  g_return_if_fail(adm != NULL);
  g_return_if_fail(job_id != NULL);
  g_hash_table_remove(adm->jobs, job_id);
}

void sl_admission_tick(SlAdmission *adm, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_return_if_fail(adm != NULL);

  g_hash_table_iter_init(&iter, adm->jobs);
  while (g_hash_table_iter_next(&iter, NULL, &value)) {
    Job *job = value;
    if (!job_is_held(adm, job, now_us))
      job->held = FALSE;
  }
}

gboolean sl_admission_can_accept(SlAdmission *adm, const char *job_type, gint64 now_us)
{
  const double *cost;

  g_return_val_if_fail(adm != NULL, FALSE);
  g_return_val_if_fail(job_type != NULL, FALSE);

  if (adm->draining)
    return FALSE;
  cost = g_hash_table_lookup(adm->costs, job_type);
  return cost != NULL && fits(sl_admission_available_cores(adm, now_us), *cost);
}

/* The largest cost among @types, or among all configured types when @types is NULL. Ties go to
 * the name that sorts first so that messages and gauges do not flip between equal types. */
static gboolean largest_cost(SlAdmission *adm, const char *const *types, double *out_cost,
                             const char **out_type)
{
  const char *best_type = NULL;
  double best = 0;

  if (types == NULL) {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, adm->costs);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
      double c = *(const double *)value;
      if (best_type == NULL || c > best || (c == best && g_strcmp0(key, best_type) < 0)) {
        best = c;
        best_type = key;
      }
    }
  } else {
    for (const char *const *t = types; *t != NULL; t++) {
      gpointer key, value;
      if (!g_hash_table_lookup_extended(adm->costs, *t, &key, &value))
        continue;
      double c = *(const double *)value;
      if (best_type == NULL || c > best || (c == best && g_strcmp0(key, best_type) < 0)) {
        best = c;
        best_type = key;
      }
    }
  }
  *out_cost = best;
  *out_type = best_type;
  return best_type != NULL;
}

double sl_admission_max_cost(SlAdmission *adm, const char **out_type)
{
  double cost;
  const char *type;

  g_return_val_if_fail(adm != NULL, 0);

  largest_cost(adm, NULL, &cost, &type);
  if (out_type)
    *out_type = type;
  return cost;
}

gboolean sl_admission_node_available(SlAdmission *adm, gint64 now_us, char **why)
{
  double cost, available;
  const char *type;

  g_return_val_if_fail(adm != NULL, FALSE);

  if (why)
    *why = NULL;
  if (adm->draining) {
    if (why)
      *why = g_strdup("draining");
    return FALSE;
  }
  /* With no costs configured there is nothing that could fail to fit. */
  if (!largest_cost(adm, NULL, &cost, &type))
    return TRUE;
  available = sl_admission_available_cores(adm, now_us);
  if (fits(available, cost))
    return TRUE;
  if (why) {
    char need[G_ASCII_DTOSTR_BUF_SIZE], avail[G_ASCII_DTOSTR_BUF_SIZE];
    *why =
        g_strdup_printf("no capacity: largest job (%s, %s cores) does not fit in %s available "
                        "cores",
                        type, fmt2(need, sizeof need, cost), fmt2(avail, sizeof avail, available));
  }
  return FALSE;
}

gboolean sl_admission_type_fits(SlAdmission *adm, const char *const *types, gint64 now_us)
{
  double cost;
  const char *type;

  g_return_val_if_fail(adm != NULL, FALSE);
  g_return_val_if_fail(types != NULL, FALSE);

  if (adm->draining)
    return FALSE;
  if (!largest_cost(adm, types, &cost, &type))
    return FALSE;
  return fits(sl_admission_available_cores(adm, now_us), cost);
}

void sl_admission_set_draining(SlAdmission *adm, gboolean draining)
{
  g_return_if_fail(adm != NULL);
  adm->draining = draining != FALSE;
}

gboolean sl_admission_is_draining(SlAdmission *adm)
{
  g_return_val_if_fail(adm != NULL, FALSE);
  return adm->draining;
}

guint sl_admission_job_count(SlAdmission *adm)
{
  g_return_val_if_fail(adm != NULL, 0);
  return g_hash_table_size(adm->jobs);
}
