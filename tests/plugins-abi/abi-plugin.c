/* One source, many test plugins: each build sets ABI_VARIANT to produce a plugin that the loader
 * must accept or refuse for one specific reason (see tests/meson.build and test-loader.c). */
#include <sluice/plugin.h>

#include <stddef.h>

#define V_GOOD          0
#define V_NEWER_MINOR   1
#define V_OTHER_MAJOR   2
#define V_LARGER_SIZE   3
#define V_NO_INIT       4
#define V_NO_START      5
#define V_NO_ENTRY      6
#define V_OLDER_MINOR   7
#define V_NAME_MISMATCH 8
#define V_LARGER_VTABLE 9

#ifndef ABI_VARIANT
#error "ABI_VARIANT must be set"
#endif
#ifndef PLUGIN_NAME
#error "PLUGIN_NAME must be set"
#endif

static const SluiceHost *host;

static gboolean test_init(const SluiceHost *h, GError **error)
{
  host = h;
  sluice_log(h, SLUICE_LOG_INFO, "test plugin %s initialised", PLUGIN_NAME);
  return TRUE;
}

static gboolean test_start(GError **error)
{
  return TRUE;
}

static void test_stop(void)
{
}

static void test_shutdown(void)
{
}

/* Room for a vtable that claims to be larger than the host's. */
static const struct {
  SluiceInputVTable v;
  char newer_fields[16];
} input = {
    .v =
        {
#if ABI_VARIANT == V_LARGER_VTABLE
            .size = sizeof(SluiceInputVTable) + 16,
#else
            .size = sizeof(SluiceInputVTable),
#endif
            .input_type = "test",
#if ABI_VARIANT != V_NO_START
            .start = test_start,
#endif
            .stop_accepting = test_stop,
        },
};

static const SluiceConfigKey keys[] = {
    {"level", SLUICE_CONFIG_INT, "3", 1, 5, "a number from 1 to 5", 0},
    SLUICE_CONFIG_KEY_END,
};

/* Room for a descriptor that claims to be larger than the host's. */
/* clang-format off */
static const struct {
  SluicePluginDesc d;
  char newer_fields[32];
} desc = {
    .d = SLUICE_PLUGIN_DESC_INIT(
#if ABI_VARIANT == V_NEWER_MINOR
            .abi_minor = SLUICE_ABI_MINOR + 1,
#elif ABI_VARIANT == V_OTHER_MAJOR
            .abi_major = SLUICE_ABI_MAJOR + 1,
#elif ABI_VARIANT == V_LARGER_SIZE
            .size = sizeof(SluicePluginDesc) + 32,
#elif ABI_VARIANT == V_OLDER_MINOR
            /* Built as an ABI 1.0 plugin: its descriptor ends before `shutdown`, so whatever
             * follows in memory must not be read as a callback. */
            .abi_minor = 0,
            .size = offsetof(SluicePluginDesc, shutdown),
#endif
            .kind = SLUICE_PLUGIN_KIND_INPUT,
#if ABI_VARIANT == V_NAME_MISMATCH
            .name = "someone-else",
#else
            .name = PLUGIN_NAME,
#endif
            .version = "0.0.1", .description = "loader test plugin", .config_keys = keys,
#if ABI_VARIANT != V_NO_INIT
            .init = test_init,
#endif
            .vtable = &input, .shutdown = test_shutdown),
};

/* clang-format on */

#if ABI_VARIANT != V_NO_ENTRY
SLUICE_PLUGIN_DEFINE(desc.d)
#else
/* Exports something, just not the entry symbol. */
G_MODULE_EXPORT int sluice_not_a_plugin(void);
G_MODULE_EXPORT int sluice_not_a_plugin(void)
{
  return 42;
}
#endif
