/* Output names: placeholders, default names, and nothing written outside output_dir. */
#include "template.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static SlTemplateVars vars(GDateTime *now)
{
  SlTemplateVars v = {.room_name = "demo",
                      .room_id = "RM_1",
                      .publisher_identity = "alice",
                      .ingress_id = "IN_x",
                      .now = now};
  return v;
}

static void test_expand(void)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 11, 21, 13, 4, 5.678);
  SlTemplateVars v = vars(now);
  g_autofree char *a = sl_template_expand("{room_name}/{publisher_identity}-{time}.mp4", &v);
  g_autofree char *b = sl_template_expand("{utc}_{ingress_id}_{room_id}_{unknown}", &v);
  g_assert_cmpstr(a, ==, "demo/alice-2026-11-21T130405.mp4");
  g_assert_cmpstr(b, ==, "20261121130405678_IN_x_RM_1_{unknown}");
}

static void test_default_names(void)
{
  g_autoptr(GDateTime) now = g_date_time_new_utc(2026, 1, 2, 3, 4, 5);
  SlTemplateVars v = vars(now);
  g_autofree char *a = sl_template_default_name("", "demo", &v);
  g_autofree char *b = sl_template_default_name("rec/", "demo", &v);
  g_autofree char *c = sl_template_default_name("x.mp4", "demo", &v);
  g_assert_cmpstr(a, ==, "demo-2026-01-02T030405");
  g_assert_cmpstr(b, ==, "rec/demo-2026-01-02T030405");
  g_assert_cmpstr(c, ==, "x.mp4");
}

static void test_normalize(void)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *a = sl_path_normalize("a//b/./c/../d.mp4", &err);
  g_assert_no_error(err);
  g_assert_cmpstr(a, ==, "a/b/d.mp4");
  g_assert_null(sl_path_normalize("../etc/passwd", &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES);
  g_clear_error(&err);
  g_assert_null(sl_path_normalize("a/../../b", &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES);
  g_clear_error(&err);
  g_assert_null(sl_path_normalize("/etc/passwd", &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_ABSOLUTE);
  g_clear_error(&err);
  g_assert_null(sl_path_normalize("a/..", &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_null(sl_path_normalize("a\nb", &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_INVALID);
}

static void test_resolve_and_symlinks(void)
{
  g_autofree char *root = g_dir_make_tmp("sluice-tpl-XXXXXX", NULL);
  g_autofree char *outside = g_dir_make_tmp("sluice-out-XXXXXX", NULL);
  g_autofree char *out_dir = g_build_filename(root, "out", NULL);
  g_autofree char *link_dir = g_build_filename(out_dir, "escape", NULL);
  g_autofree char *link_file = g_build_filename(out_dir, "file.mp4", NULL);
  g_autofree char *target = g_build_filename(outside, "t.mp4", NULL);
  g_autoptr(GError) err = NULL;
  g_autofree char *abs = NULL;
  g_autofree char *rel = NULL;

  rel = sl_path_resolve(out_dir, "hls/demo/seg", &abs, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(rel, ==, "hls/demo/seg");
  g_assert_true(g_str_has_suffix(abs, "/out/hls/demo/seg"));
  {
    g_autofree char *parent = g_path_get_dirname(abs);
    g_assert_true(g_file_test(parent, G_FILE_TEST_IS_DIR));
  }

  /* a symlinked directory that leads out */
  g_assert_cmpint(symlink(outside, link_dir), ==, 0);
  g_assert_null(sl_path_resolve(out_dir, "escape/x.mp4", NULL, &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES);
  g_clear_error(&err);
  /* a symlink in place of the file itself */
  g_assert_cmpint(symlink(target, link_file), ==, 0);
  g_assert_null(sl_path_resolve(out_dir, "file.mp4", NULL, &err));
  g_assert_error(err, SL_PATH_ERROR, SL_PATH_ERROR_ESCAPES);
  g_clear_error(&err);
  /* nothing was created outside */
  g_assert_false(g_file_test(target, G_FILE_TEST_EXISTS));
  {
    g_autofree char *x = g_build_filename(outside, "x.mp4", NULL);
    g_assert_false(g_file_test(x, G_FILE_TEST_EXISTS));
  }
  unlink(link_dir);
  unlink(link_file);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/template/expand", test_expand);
  g_test_add_func("/template/default-names", test_default_names);
  g_test_add_func("/path/normalize", test_normalize);
  g_test_add_func("/path/resolve-and-symlinks", test_resolve_and_symlinks);
  return g_test_run();
}
