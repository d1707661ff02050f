/* Unit tests for core/admission.c, driven by a fake monotonic clock. */
#include "admission.h"

#define SEC G_USEC_PER_SEC
/* An arbitrary monotonic start so that no test depends on time 0. */
#define T0 ((gint64)1000 * SEC)

static const char *const INGRESS_TYPES[] = {"rtmp", "whip", "url", NULL};
static const char *const EGRESS_TYPES[] = {"room_composite", "participant", "track", NULL};

static SlAdmission *new_node(double ncpu)
{
  SlAdmission *adm = sl_admission_new(ncpu, SL_ADMISSION_DEFAULT_MAX_CPU_UTILIZATION,
                                      SL_ADMISSION_DEFAULT_HOLD_SECONDS);
  sl_admission_set_cost(adm, "rtmp", 2.0);
  sl_admission_set_cost(adm, "whip", 2.0);
  sl_admission_set_cost(adm, "url", 2.0);
  sl_admission_set_cost(adm, "room_composite", 4.0);
  sl_admission_set_cost(adm, "participant", 2.0);
  sl_admission_set_cost(adm, "track", 0.5);
  return adm;
}

static void test_costs(void)
{
  g_autoptr(SlAdmission) adm = new_node(4);
  const char *type = NULL;

  g_assert_cmpfloat(sl_admission_capacity(adm), ==, 0.8 * 4);
  g_assert_cmpfloat(sl_admission_get_cost(adm, "rtmp"), ==, 2.0);
  g_assert_cmpfloat(sl_admission_get_cost(adm, "nope"), ==, -1);
  g_assert_cmpfloat(sl_admission_max_cost(adm, &type), ==, 4.0);
  g_assert_cmpstr(type, ==, "room_composite");

  /* Equal costs: the name that sorts first wins, every time. */
  sl_admission_set_cost(adm, "web", 4.0);
  sl_admission_set_cost(adm, "audio_web", 4.0);
  g_assert_cmpfloat(sl_admission_max_cost(adm, &type), ==, 4.0);
  g_assert_cmpstr(type, ==, "audio_web");

  sl_admission_set_cost(adm, "rtmp", 3.0);
  g_assert_cmpfloat(sl_admission_get_cost(adm, "rtmp"), ==, 3.0);
}

static void test_empty_costs(void)
{
  g_autoptr(SlAdmission) adm = sl_admission_new(2, 0.8, 5);
  const char *type = "sentinel";
  g_autofree char *why = NULL;

  g_assert_cmpfloat(sl_admission_max_cost(adm, &type), ==, 0);
  g_assert_null(type);
  g_assert_true(sl_admission_node_available(adm, T0, &why));
  g_assert_null(why);
  g_assert_false(sl_admission_type_fits(adm, INGRESS_TYPES, T0));
}

static void test_reserve_until_refused(void)
{
  g_autoptr(SlAdmission) adm = new_node(8); /* capacity 6.40 */
  g_autoptr(GError) error = NULL;

  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_1", T0, &error));
  g_assert_no_error(error);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 4.4, 1e-9);
  g_assert_true(sl_admission_reserve(adm, "whip", "IN_2", T0, &error));
  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_3", T0 + SEC / 10, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(sl_admission_job_count(adm), ==, 3);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 0.4, 1e-9);

  g_assert_false(sl_admission_can_accept(adm, "rtmp", T0 + SEC));
  g_assert_false(sl_admission_can_accept(adm, "track", T0 + SEC));
  sl_admission_set_cost(adm, "track_audio", 0.4);
  g_assert_true(sl_admission_can_accept(adm, "track_audio", T0 + SEC));
  g_assert_false(sl_admission_reserve(adm, "rtmp", "IN_4", T0 + SEC, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_NO_CAPACITY);
  g_assert_cmpstr(error->message, ==,
                  "not enough CPU: rtmp needs 2.00 cores, 0.40 of 6.40 available");
  g_clear_error(&error);
  g_assert_cmpuint(sl_admission_job_count(adm), ==, 3);

  /* The same id twice is a caller bug, reported as such. */
  g_assert_false(sl_admission_reserve(adm, "track", "IN_1", T0 + SEC, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_DUPLICATE);
  g_clear_error(&error);

  g_assert_false(sl_admission_reserve(adm, "sip", "IN_5", T0 + SEC, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_UNKNOWN_TYPE);
  g_assert_cmpstr(error->message, ==, "unknown job type \"sip\": no CPU cost configured");
  g_assert_false(sl_admission_can_accept(adm, "sip", T0 + SEC));
}

static void test_message_uses_measured_load(void)
{
  g_autoptr(SlAdmission) adm = new_node(2); /* capacity 1.60 */
  g_autoptr(GError) error = NULL;

  sl_admission_set_node_busy(adm, 0.85);
  g_assert_false(sl_admission_reserve(adm, "rtmp", "IN_1", T0, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_NO_CAPACITY);
  g_assert_cmpstr(error->message, ==,
                  "not enough CPU: rtmp needs 2.00 cores, 0.75 of 1.60 available");

  /* Overload reads as 0 available, never negative. */
  sl_admission_set_node_busy(adm, 3.0);
  g_assert_cmpfloat(sl_admission_available_cores(adm, T0), ==, 0.0);
}

static void test_exact_fit(void)
{
  g_autoptr(SlAdmission) adm = sl_admission_new(10, 0.7, 5); /* 7.00, not exact in binary */
  g_autoptr(GError) error = NULL;

  sl_admission_set_cost(adm, "track", 0.7);
  for (int i = 0; i < 10; i++) {
    g_autofree char *id = g_strdup_printf("EG_%d", i);
    g_assert_true(sl_admission_reserve(adm, "track", id, T0, &error));
    g_assert_no_error(error);
  }
  g_assert_false(sl_admission_can_accept(adm, "track", T0));
}

static void test_hold_expires(void)
{
  g_autoptr(SlAdmission) adm = new_node(8); /* capacity 6.40 */

  sl_admission_set_node_busy(adm, 1.0);
  g_assert_true(sl_admission_reserve(adm, "room_composite", "EG_1", T0, NULL));
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 1.4, 1e-9);

  /* The job has started and is measured at 1 core: the node measurement grows by the same, the
   * held remainder shrinks by it, and the total is unchanged. */
  sl_admission_update_job(adm, "EG_1", 1.0, T0 + 2 * SEC);
  sl_admission_set_node_busy(adm, 2.0);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 2 * SEC), 1.4, 1e-9);

  /* Still held just before hold_seconds. */
  sl_admission_tick(adm, T0 + 5 * SEC - 1);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 5 * SEC - 1), 1.4, 1e-9);

  /* At hold_seconds the reservation is gone even without a tick; the job is what is measured. */
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 5 * SEC), 4.4, 1e-9);
  sl_admission_tick(adm, T0 + 5 * SEC);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 5 * SEC), 4.4, 1e-9);

  /* An ended hold never comes back, even if asked about an earlier time. */
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + SEC), 4.4, 1e-9);
  g_assert_cmpuint(sl_admission_job_count(adm), ==, 1);
}

static void test_hold_ends_when_measured(void)
{
  g_autoptr(SlAdmission) adm = new_node(4); /* capacity 3.20 */

  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_1", T0, NULL));
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 1.2, 1e-9);

  /* Measured above the cost after one second: the hold ends and max(measured, cost) is now just
   * what the machine shows. */
  sl_admission_update_job(adm, "IN_1", 2.5, T0 + SEC);
  sl_admission_set_node_busy(adm, 2.5);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + SEC), 0.7, 1e-9);

  /* The job goes quiet: with the hold over it is not topped up to its cost again. */
  sl_admission_update_job(adm, "IN_1", 0.2, T0 + 2 * SEC);
  sl_admission_set_node_busy(adm, 0.2);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 2 * SEC), 3.0, 1e-9);
  g_assert_true(sl_admission_can_accept(adm, "rtmp", T0 + 2 * SEC));

  /* Updates for unknown jobs are ignored. */
  sl_admission_update_job(adm, "IN_gone", 9.0, T0 + 2 * SEC);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0 + 2 * SEC), 3.0, 1e-9);
}

static void test_release(void)
{
  g_autoptr(SlAdmission) adm = new_node(4); /* capacity 3.20 */
  g_autoptr(GError) error = NULL;

  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_1", T0, &error));
  g_assert_false(sl_admission_reserve(adm, "whip", "IN_2", T0, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_NO_CAPACITY);
  g_clear_error(&error);

  sl_admission_release(adm, "IN_1");
  sl_admission_release(adm, "IN_1"); /* twice is harmless */
  g_assert_cmpuint(sl_admission_job_count(adm), ==, 0);
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 3.2, 1e-9);
  g_assert_true(sl_admission_reserve(adm, "whip", "IN_2", T0, &error));
  g_assert_no_error(error);

  /* A released id may be reserved again. */
  sl_admission_release(adm, "IN_2");
  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_2", T0 + SEC, &error));
  g_assert_no_error(error);
}

static void test_draining(void)
{
  g_autoptr(SlAdmission) adm = new_node(16);
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;

  g_assert_true(sl_admission_node_available(adm, T0, &why));
  g_assert_null(why);

  sl_admission_set_draining(adm, TRUE);
  g_assert_true(sl_admission_is_draining(adm));
  g_assert_false(sl_admission_node_available(adm, T0, &why));
  g_assert_cmpstr(why, ==, "draining");
  g_clear_pointer(&why, g_free);
  g_assert_false(sl_admission_node_available(adm, T0, NULL));
  g_assert_false(sl_admission_can_accept(adm, "track", T0));
  g_assert_false(sl_admission_type_fits(adm, INGRESS_TYPES, T0));
  g_assert_false(sl_admission_reserve(adm, "track", "EG_1", T0, &error));
  g_assert_error(error, SL_ADMISSION_ERROR, SL_ADMISSION_ERROR_DRAINING);
  g_assert_cmpstr(error->message, ==, "node is draining: not accepting new track jobs");

  sl_admission_set_draining(adm, FALSE);
  g_assert_true(sl_admission_node_available(adm, T0, &why));
  g_assert_null(why);
}

static void test_largest_cost_rule(void)
{
  g_autoptr(SlAdmission) adm = new_node(4); /* capacity 3.20: room_composite (4) never fits */
  g_autofree char *why = NULL;

  g_assert_false(sl_admission_node_available(adm, T0, &why));
  g_assert_cmpstr(why, ==,
                  "no capacity: largest job (room_composite, 4.00 cores) does not fit in 3.20 "
                  "available cores");
  g_clear_pointer(&why, g_free);

  /* Smaller jobs are still accepted even though the node reports itself unavailable. */
  g_assert_true(sl_admission_can_accept(adm, "rtmp", T0));

  sl_admission_set_cost(adm, "room_composite", 1.0);
  g_assert_true(sl_admission_node_available(adm, T0, &why));
  g_assert_null(why);

  /* Now several types cost 2 and participant sorts first; 2.00 busy leaves 1.20. */
  sl_admission_set_node_busy(adm, 2.0);
  g_assert_false(sl_admission_node_available(adm, T0, &why));
  g_assert_cmpstr(why, ==,
                  "no capacity: largest job (participant, 2.00 cores) does not fit in 1.20 "
                  "available cores");
}

static void test_type_filters(void)
{
  g_autoptr(SlAdmission) adm = new_node(5); /* capacity 4.00 */
  const char *const unknown_only[] = {"sip", NULL};

  g_assert_true(sl_admission_type_fits(adm, INGRESS_TYPES, T0));
  g_assert_true(sl_admission_type_fits(adm, EGRESS_TYPES, T0));

  /* 1 core busy: 3.00 left. Ingress (2) still fits, egress (room_composite, 4) does not. */
  sl_admission_set_node_busy(adm, 1.0);
  g_assert_true(sl_admission_type_fits(adm, INGRESS_TYPES, T0));
  g_assert_false(sl_admission_type_fits(adm, EGRESS_TYPES, T0));
  g_assert_false(sl_admission_node_available(adm, T0, NULL));

  /* A held ingress job takes 2 more: neither fits any longer. */
  g_assert_true(sl_admission_reserve(adm, "url", "IN_1", T0, NULL));
  g_assert_false(sl_admission_type_fits(adm, INGRESS_TYPES, T0));
  g_assert_false(sl_admission_type_fits(adm, EGRESS_TYPES, T0));

  /* Types without a cost are skipped; a list with none is never available. */
  g_assert_false(sl_admission_type_fits(adm, unknown_only, T0));
}

static void test_zero_hold(void)
{
  g_autoptr(SlAdmission) adm = sl_admission_new(4, 1.0, 0);

  sl_admission_set_cost(adm, "rtmp", 2.0);
  g_assert_true(sl_admission_reserve(adm, "rtmp", "IN_1", T0, NULL));
  /* Without a hold the reservation is only what is measured. */
  g_assert_cmpfloat_with_epsilon(sl_admission_available_cores(adm, T0), 4.0, 1e-9);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/admission/costs", test_costs);
  g_test_add_func("/admission/empty-costs", test_empty_costs);
  g_test_add_func("/admission/reserve-until-refused", test_reserve_until_refused);
  g_test_add_func("/admission/message-uses-measured-load", test_message_uses_measured_load);
  g_test_add_func("/admission/exact-fit", test_exact_fit);
  g_test_add_func("/admission/hold-expires", test_hold_expires);
  g_test_add_func("/admission/hold-ends-when-measured", test_hold_ends_when_measured);
  g_test_add_func("/admission/release", test_release);
  g_test_add_func("/admission/draining", test_draining);
  g_test_add_func("/admission/largest-cost-rule", test_largest_cost_rule);
  g_test_add_func("/admission/type-filters", test_type_filters);
  g_test_add_func("/admission/zero-hold", test_zero_hold);
  return g_test_run();
}
