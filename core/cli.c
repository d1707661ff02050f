/* `sluice ingress …` and `sluice egress …`. See cli.h. */
#include "cli.h"

#include "config.h"
#include "jwt.h"
#include "pbjson.h"
#include "redact.h"
#include "sluice-build.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One answer may take this long, connecting included; a node that needs longer is not well. */
#define CLI_TIMEOUT_S 10
/* --follow asks ListEgress this often. A person watching a recording needs no more, and a
 * one-shot client has no event stream to wait on. */
#define CLI_FOLLOW_INTERVAL_US G_USEC_PER_SEC
/* Polls in a row that may go unanswered while following (a node restarting, a network blip)
 * before the follower gives up with SL_CLI_EXIT_UNREACHABLE. */
#define CLI_FOLLOW_MAX_MISSES 10

/* Errors carry the exit status as their code (SlCliExit), so the one place that prints an error
 * also knows what to return. */
static GQuark cli_error_quark(void)
{
  return g_quark_from_static_string("sl-cli-error-quark");
}
#define CLI_ERROR (cli_error_quark())

/* ---- the command table ------------------------------------------------------------------- */

typedef struct {
  const char *name; /* long name without the dashes */
  const char *arg;  /* metavariable of an option that takes a value; NULL for a flag */
  const char *help; /* may hold newlines; continuation lines are indented under the first */
} CliOption;

typedef struct _Cli Cli;

typedef struct {
  const char *words;    /* "egress start participant" */
  const char *synopsis; /* what follows the words on the usage line */
  const char *summary;
  const CliOption *options[4]; /* tables, NULL after the last */
  const char *positional;      /* metavariable of the one positional argument, or NULL */
  const char *kind;            /* `egress start`: the request kind (EgressInfo's oneof member) */
  gboolean (*run)(Cli *cli, GError **error);
} CliCommand;

struct _Cli {
  const CliCommand *cmd;
  GHashTable *opts; /* long name → value ("" for a flag) */
  const char *arg;  /* the positional argument, borrowed from argv */
  gboolean json;
  char *url; /* the API's base URL, without a trailing slash */
  char *api_key;
  char *api_secret;
  const char *key_source;    /* where the key came from, for hints */
  const char *secret_source; /* where the secret came from */
  SoupSession *http;
};

static void cli_clear(Cli *cli)
{
  g_clear_pointer(&cli->opts, g_hash_table_unref);
  g_clear_pointer(&cli->url, g_free);
  g_clear_pointer(&cli->api_key, g_free);
  g_clear_pointer(&cli->api_secret, g_free);
  g_clear_object(&cli->http);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Cli, cli_clear)

static const CliOption common_options[] = {
    {"url", "URL",
     "the API: http(s)://HOST:PORT, or ws(s):// read as http(s)://\n"
     "as LiveKit's CLI reads it; else LIVEKIT_URL, else\n"
     "http://127.0.0.1:<api_port> from the local config"},
    {"api-key", "KEY", "else LIVEKIT_API_KEY, else api_key from the local config"},
    {"api-secret", "SECRET", "else LIVEKIT_API_SECRET, else api_secret from the local config"},
    {"config", "FILE",
     "the local config; default: found as `sluice` finds it\n"
     "(SLUICE_CONFIG_FILE, SLUICE_CONFIG_BODY, INGRESS_/EGRESS_...)"},
    {"config-body", "YAML", "the local config, inline"},
    {"json", NULL,
     "print the API's answer as canonical protobuf JSON\n"
     "(with --follow: one EgressInfo per line, at every change)"},
    {"help", NULL, "this help"},
    {NULL, NULL, NULL},
};

static const char exit_status_help[] =
    "Exit status:\n"
    "  0  success (with --follow: the egress ended EGRESS_COMPLETE)\n"
    "  1  the server refused the request (its Twirp code and message are printed), or the\n"
    "     followed egress ended EGRESS_FAILED, EGRESS_ABORTED or EGRESS_LIMIT_REACHED\n"
    "  2  usage error\n"
    "  3  the API cannot be reached, or its address or credentials are missing or refused\n";

static const CliOption ingress_create_options[] = {
    {"room", "ROOM", "room the publisher's session belongs to (required)"},
    {"identity", "ID", "participant identity of the publisher (required)"},
    {"name", "N", "a name for the ingress"},
    {"participant-name", "PN", "the participant's display name"},
    {"disabled", NULL, "create it disabled: publishes are refused until\n`update --enable`"},
    {NULL, NULL, NULL},
};

static const CliOption ingress_list_options[] = {
    {"room", "ROOM", "only the ingresses of this room"},
    {"id", "IN_...", "only this ingress"},
    {NULL, NULL, NULL},
};

static const CliOption ingress_update_options[] = {
    {"room", "ROOM", "move it to this room"},
    {"identity", "ID", "new participant identity"},
    {"name", "N", "new name"},
    {"participant-name", "PN", "new participant display name"},
    {"enable", NULL, "accept publishes"},
    {"disable", NULL, "refuse publishes"},
    {NULL, NULL, NULL},
};

/* The outputs an egress start may ask for, and --follow, shared by several commands. */
static const CliOption file_option[] = {
    {"file", "PATH",
     "record to an MP4 file, relative to the node's output_dir\n"
     "({room_name}, {time}, {publisher_identity}, ... expand)"},
    {NULL, NULL, NULL},
};

static const CliOption segments_options[] = {
    {"segments", "PREFIX", "record HLS: segments PREFIX_00000.ts, ... and a playlist"},
    {"playlist", "NAME", "with --segments: the playlist's name"},
    {"live-playlist", "NAME", "with --segments: also a live playlist of the last\nsegments"},
    {"segment-duration", "S", "with --segments: segment length in seconds"},
    {NULL, NULL, NULL},
};

static const CliOption follow_option[] = {
    {"follow", NULL,
     "show live status until the egress ends, then its results;\n"
     "exit 0 only if it completes (Ctrl-C stops following, not\n"
     "the egress)"},
    {NULL, NULL, NULL},
};

static const CliOption start_room_composite_options[] = {
    {"room", "ROOM", "the room (required); it must have a live ingress session"},
    {"audio-only", NULL, "record the audio only"},
    {"video-only", NULL, "record the video only"},
    {NULL, NULL, NULL},
};

static const CliOption start_participant_options[] = {
    {"room", "ROOM", "the room (required)"},
    {"identity", "ID", "the publishing participant's identity (required)"},
    {NULL, NULL, NULL},
};

static const CliOption start_track_composite_options[] = {
    {"room", "ROOM", "the room (required)"},
    {"video-track", "TR_...", "the video track (`ingress list --json` shows\nstate.tracks)"},
    {"audio-track", "TR_...", "the audio track; at least one of the two is required"},
    {NULL, NULL, NULL},
};

static const CliOption start_track_options[] = {
    {"room", "ROOM", "the room (required)"},
    {"track", "TR_...", "the track (required)"},
    {"file", "PATH", "the file to write (required), relative to the node's\noutput_dir"},
    {NULL, NULL, NULL},
};

static const CliOption egress_list_options[] = {
    {"room", "ROOM", "only the egresses of this room"},
    {"id", "EG_...", "only this egress"},
    {"active", NULL, "only egresses that have not ended"},
    {NULL, NULL, NULL},
};

static gboolean run_ingress_create(Cli *cli, GError **error);
static gboolean run_ingress_list(Cli *cli, GError **error);
static gboolean run_ingress_update(Cli *cli, GError **error);
static gboolean run_ingress_delete(Cli *cli, GError **error);
static gboolean run_egress_start(Cli *cli, GError **error);
static gboolean run_egress_list(Cli *cli, GError **error);
static gboolean run_egress_stop(Cli *cli, GError **error);

static const CliCommand commands[] = {
    {"ingress create",
     "--room ROOM --identity ID [--name N]\n[--participant-name PN] [--disabled]",
     "Create an RTMP ingress and print the URL and stream key to publish to.",
     {ingress_create_options},
     NULL,
     NULL,
     run_ingress_create},
    {"ingress list",
     "[--room ROOM] [--id IN_...]",
     "List ingresses with their state (stream keys redacted).",
     {ingress_list_options},
     NULL,
     NULL,
     run_ingress_list},
    {"ingress update",
     "IN_... [--room ROOM] [--identity ID] [--name N]\n"
     "[--participant-name PN] [--enable|--disable]",
     "Change an ingress. A live session on it ends, so the publisher reconnects with the new\n"
     "settings (as LiveKit does).",
     {ingress_update_options},
     "IN_...",
     NULL,
     run_ingress_update},
    {"ingress delete",
     "IN_...",
     "Delete an ingress; a live session on it ends.",
     {NULL},
     "IN_...",
     NULL,
     run_ingress_delete},
    {"egress start room-composite",
     "--room ROOM (--file PATH | --segments PREFIX\n"
     "[--playlist NAME] [--live-playlist NAME] [--segment-duration S])\n"
     "[--audio-only|--video-only] [--follow]",
     "Record the room's live session.",
     {start_room_composite_options, file_option, segments_options, follow_option},
     NULL,
     "room_composite",
     run_egress_start},
    {"egress start participant",
     "--room ROOM --identity ID\n(--file PATH | --segments PREFIX ...) [--follow]",
     "Record one participant's live session.",
     {start_participant_options, file_option, segments_options, follow_option},
     NULL,
     "participant",
     run_egress_start},
    {"egress start track-composite",
     "--room ROOM [--video-track TR_...] [--audio-track TR_...]\n"
     "(--file PATH | --segments PREFIX ...) [--follow]",
     "Record a video track and an audio track together.",
     {start_track_composite_options, file_option, segments_options, follow_option},
     NULL,
     "track_composite",
     run_egress_start},
    {"egress start track",
     "--room ROOM --track TR_... --file PATH [--follow]",
     "Record one track as it is published.",
     {start_track_options, follow_option},
     NULL,
     "track",
     run_egress_start},
    {"egress list",
     "[--room ROOM] [--id EG_...] [--active]",
     "List egresses with their state and results.",
     {egress_list_options},
     NULL,
     NULL,
     run_egress_list},
    {"egress stop",
     "EG_... [--follow]",
     "Stop an egress: its outputs are finalised, then it completes.",
     {follow_option},
     "EG_...",
     NULL,
     run_egress_stop},
};

typedef struct {
  const char *words;
  const char *summary;
} CliGroup;

static const CliGroup groups[] = {
    {"ingress", "Manage RTMP ingresses through the API (livekit.Ingress). An ingress is a stream\n"
                "key that publishers push to, tied to a room and a participant identity."},
    {"egress", "Record live ingress sessions through the API (livekit.Egress). An egress adds\n"
               "file or HLS outputs to a live session, found by room, participant or track."},
    {"egress start", "Start an egress, one command per LiveKit request type."},
};

/* ---- help and usage ---------------------------------------------------------------------- */

static void print_options(FILE *out, const CliOption *opts)
{
  for (const CliOption *o = opts; o->name; o++) {
    g_autofree char *left =
        o->arg ? g_strdup_printf("--%s %s", o->name, o->arg)
               : g_strdup_printf("%s--%s", strcmp(o->name, "help") == 0 ? "-h, " : "", o->name);
    g_auto(GStrv) lines = g_strsplit(o->help, "\n", -1);
    fprintf(out, "  %-24s %s\n", left, lines[0]);
    for (guint i = 1; lines[i]; i++)
      fprintf(out, "  %-24s %s\n", "", lines[i]);
  }
}

static void print_common_help(FILE *out)
{
  fputs("\nConnection (each: the option, else the environment, else the local config) and "
        "output:\n",
        out);
  print_options(out, common_options);
  fputc('\n', out);
  fputs(exit_status_help, out);
}

/* "sluice WORDS SYNOPSIS", the synopsis's further lines indented under the first. */
static void print_synopsis(FILE *out, const char *lead, const CliCommand *cmd)
{
  g_auto(GStrv) lines = g_strsplit(cmd->synopsis, "\n", -1);
  fprintf(out, "%ssluice %s %s\n", lead, cmd->words, lines[0]);
  for (guint i = 1; lines[i]; i++)
    fprintf(out, "%*s%s\n", (int)strlen(lead) + 4, "", lines[i]);
}

static void print_usage_line(FILE *out, const CliCommand *cmd)
{
  print_synopsis(out, "Usage: ", cmd);
}

static void print_command_help(FILE *out, const CliCommand *cmd)
{
  print_usage_line(out, cmd);
  fprintf(out, "\n%s\n", cmd->summary);
  if (cmd->options[0] != NULL) {
    fputs("\nOptions:\n", out);
    for (guint i = 0; i < G_N_ELEMENTS(cmd->options) && cmd->options[i]; i++)
      print_options(out, cmd->options[i]);
  }
  print_common_help(out);
}

static void print_group_help(FILE *out, const CliGroup *group)
{
  g_autofree char *prefix = g_strconcat(group->words, " ", NULL);
  fprintf(out, "Usage: sluice %s COMMAND [options]\n\n%s\n\nCommands:\n", group->words,
          group->summary);
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (!g_str_has_prefix(commands[i].words, prefix))
      continue;
    print_synopsis(out, "  ", &commands[i]);
  }
  fprintf(out, "\nRun 'sluice %s COMMAND --help' for a command's options.\n", group->words);
  print_common_help(out);
}

/* ---- the command line -------------------------------------------------------------------- */

static const CliOption *find_option(const CliOption *table, const char *name)
{
  for (const CliOption *o = table; o->name; o++)
    if (strcmp(o->name, name) == 0)
      return o;
  return NULL;
}

/* `name` among a command's own options, then the common ones. */
static const CliOption *find_command_option(const CliCommand *cmd, const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(cmd->options) && cmd->options[i]; i++) {
    const CliOption *o = find_option(cmd->options[i], name);
    if (o != NULL)
      return o;
  }
  return find_option(common_options, name);
}

/* Whether `arg` ("--room") is an option that takes the next word as its value, in any command or
 * in main()'s own grammar. The first pass over argv needs it to tell values from command words
 * before it knows which command it is looking at; option names mean the same in every command. */
static gboolean takes_value(const char *arg)
{
  const CliOption *o;
  if (strcmp(arg, "-c") == 0)
    return TRUE;
  if (!g_str_has_prefix(arg, "--") || strchr(arg, '=') != NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    o = find_command_option(&commands[i], arg + 2);
    if (o != NULL)
      return o->arg != NULL;
  }
  return FALSE;
}

/* Indexes into argv of the words that are neither options nor option values. */
static GArray *word_indexes(int argc, char **argv)
{
  GArray *words = g_array_new(FALSE, FALSE, sizeof(int));
  gboolean only_words = FALSE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!only_words && strcmp(a, "--") == 0) {
      only_words = TRUE;
    } else if (!only_words && a[0] == '-' && a[1] != '\0') {
      if (takes_value(a))
        i++;
    } else {
      g_array_append_val(words, i);
    }
  }
  return words;
}

gboolean sl_cli_handles(int argc, char **argv)
{
  g_autoptr(GArray) words = word_indexes(argc, argv);
  const char *first;
  if (words->len == 0)
    return FALSE;
  first = argv[g_array_index(words, int, 0)];
  return strcmp(first, "ingress") == 0 || strcmp(first, "egress") == 0;
}

static gboolean wants_help(int argc, char **argv)
{
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return TRUE;
  return FALSE;
}

/* The command whose words open `words` (the longest such), and how many words it took. */
static const CliCommand *match_command(char **argv, GArray *words, guint *n_taken)
{
  const CliCommand *best = NULL;
  guint best_n = 0;
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    g_auto(GStrv) parts = g_strsplit(commands[i].words, " ", -1);
    guint n = g_strv_length(parts);
    gboolean ok = n <= words->len;
    for (guint j = 0; ok && j < n; j++)
      ok = strcmp(parts[j], argv[g_array_index(words, int, j)]) == 0;
    if (ok && n > best_n) {
      best = &commands[i];
      best_n = n;
    }
  }
  *n_taken = best_n;
  return best;
}

/* The group a partial command line names: the longest whose words open it ("egress start"
 * before "egress"). sl_cli_handles() has checked that the first word names one. */
static const CliGroup *match_group(char **argv, GArray *words)
{
  const CliGroup *best = &groups[0];
  guint best_n = 0;
  for (guint i = 0; i < G_N_ELEMENTS(groups); i++) {
    g_auto(GStrv) parts = g_strsplit(groups[i].words, " ", -1);
    guint n = g_strv_length(parts);
    gboolean ok = n <= words->len;
    for (guint j = 0; ok && j < n; j++)
      ok = strcmp(parts[j], argv[g_array_index(words, int, j)]) == 0;
    if (ok && n > best_n) {
      best = &groups[i];
      best_n = n;
    }
  }
  return best;
}

static gboolean usage_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean usage_error(GError **error, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *text = NULL;
  va_start(ap, fmt);
  text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error_literal(error, CLI_ERROR, SL_CLI_EXIT_USAGE, text);
  return FALSE;
}

/* Reads the options and the positional argument of `cli->cmd`, whose words sit at the first
 * `n_taken` indexes of `words`. */
static gboolean parse_options(Cli *cli, int argc, char **argv, GArray *words, guint n_taken,
                              GError **error)
{
  gboolean only_words = FALSE;
  guint next_word = 0;
  cli->opts = g_hash_table_new(g_str_hash, g_str_equal);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    g_autofree char *name = NULL;
    const char *eq;
    const CliOption *o;
    if (next_word < n_taken && g_array_index(words, int, next_word) == i) {
      next_word++;
      continue;
    }
    if (!only_words && strcmp(a, "--") == 0) {
      only_words = TRUE;
      continue;
    }
    if (only_words || a[0] != '-' || a[1] == '\0') {
      if (cli->cmd->positional == NULL || cli->arg != NULL)
        return usage_error(error, "unexpected argument '%s'", a);
      cli->arg = a;
      continue;
    }
    eq = strchr(a, '=');
    if (strcmp(a, "-c") == 0)
      name = g_strdup("config");
    else if (g_str_has_prefix(a, "--"))
      name = eq != NULL ? g_strndup(a + 2, eq - a - 2) : g_strdup(a + 2);
    else
      return usage_error(error, "unknown option '%s'", a);
    o = find_command_option(cli->cmd, name);
    if (o == NULL)
      return usage_error(error, "unknown option '--%s'", name);
    if (o->arg != NULL && eq != NULL) {
      g_hash_table_replace(cli->opts, (gpointer)o->name, (gpointer)(eq + 1));
    } else if (o->arg != NULL) {
      if (i + 1 >= argc)
        return usage_error(error, "--%s needs a value (%s)", o->name, o->arg);
      g_hash_table_replace(cli->opts, (gpointer)o->name, argv[++i]);
    } else if (eq != NULL) {
      return usage_error(error, "--%s takes no value", o->name);
    } else {
      g_hash_table_replace(cli->opts, (gpointer)o->name, (gpointer) "");
    }
  }
  if (cli->cmd->positional != NULL && (cli->arg == NULL || *cli->arg == '\0'))
    return usage_error(error, "%s is required", cli->cmd->positional);
  cli->json = g_hash_table_contains(cli->opts, "json");
  return TRUE;
}

static const char *opt(Cli *cli, const char *name)
{
  return g_hash_table_lookup(cli->opts, name);
}

static gboolean has(Cli *cli, const char *name)
{
  return g_hash_table_contains(cli->opts, name);
}

/* The value of a required option, or NULL with a usage error. */
static const char *required(Cli *cli, const char *name, GError **error)
{
  const char *v = opt(cli, name);
  if (v == NULL || *v == '\0') {
    usage_error(error, "--%s is required", name);
    return NULL;
  }
  return v;
}

/* ---- connection -------------------------------------------------------------------------- */

static const char *env_value(const char *name)
{
  const char *v = g_getenv(name);
  return v != NULL && *v != '\0' ? v : NULL;
}

/* The local config, read and checked as the service would read it (its plugins' keys aside:
 * they are unknown here, which is only a warning, and not shown). */
static SlConfig *load_local_config(Cli *cli, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(SlConfig) cfg = sl_config_load(opt(cli, "config"), opt(cli, "config-body"), &local);
  g_autoptr(GPtrArray) diags = sl_diag_array_new();
  if (cfg == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "cannot read the local config for the API's address: %s", local->message);
    return NULL;
  }
  if (!sl_config_validate(cfg, diags)) {
    for (guint i = 0; i < diags->len; i++) {
      SlDiag *d = g_ptr_array_index(diags, i);
      if (d->level == SL_DIAG_ERROR) {
        g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                    "the local config has errors (first: %s)", d->text);
        break;
      }
    }
    return NULL;
  }
  return g_steal_pointer(&cfg);
}

/* http://HOST:api_port of the local node: its bind address when it binds a single one. */
static char *local_api_url(SlConfig *cfg)
{
  gint64 port = sl_config_get_int(cfg, "api_port");
  const char *bind = sl_config_get_string(cfg, "bind_address");
  const char *host = "127.0.0.1";
  if (port <= 0)
    return NULL;
  if (bind != NULL && *bind != '\0' && strcmp(bind, "0.0.0.0") != 0 && strcmp(bind, "::") != 0)
    host = bind;
  else if (g_strcmp0(bind, "::") == 0)
    host = "::1";
  if (strchr(host, ':') != NULL)
    return g_strdup_printf("http://[%s]:%" G_GINT64_FORMAT, host, port);
  return g_strdup_printf("http://%s:%" G_GINT64_FORMAT, host, port);
}

/* LiveKit's CLI accepts the WebSocket URL clients use and calls the API over HTTP on the same
 * host and port; so does this. */
static char *api_base_url(const char *text, const char *source, GError **error)
{
  g_autofree char *url = NULL;
  g_autoptr(GUri) uri = NULL;
  gsize len;
  if (g_ascii_strncasecmp(text, "ws://", 5) == 0 || g_ascii_strncasecmp(text, "wss://", 6) == 0)
    url = g_strconcat("http", text + 2, NULL);
  else
    url = g_strdup(text);
  uri = g_uri_parse(url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL ||
      (g_ascii_strcasecmp(g_uri_get_scheme(uri), "http") != 0 &&
       g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") != 0) ||
      g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0') {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "'%s' (from %s) is not an API address: expected http(s):// or ws(s)://HOST:PORT",
                text, source);
    return NULL;
  }
  len = strlen(url);
  while (len > 0 && url[len - 1] == '/')
    url[--len] = '\0';
  return g_steal_pointer(&url);
}

/* Resolves the address and credentials (option, else environment, else local config, each on
 * its own) and makes the HTTP session. */
static gboolean cli_connect(Cli *cli, GError **error)
{
  const char *url = opt(cli, "url"), *key = opt(cli, "api-key"), *secret = opt(cli, "api-secret");
  const char *url_source = "--url";
  g_autoptr(SlConfig) cfg = NULL;
  g_autofree char *cfg_url = NULL;

  cli->key_source = "--api-key";
  cli->secret_source = "--api-secret";
  if (url == NULL && (url = env_value("LIVEKIT_URL")) != NULL)
    url_source = "LIVEKIT_URL";
  if (key == NULL && (key = env_value("LIVEKIT_API_KEY")) != NULL)
    cli->key_source = "LIVEKIT_API_KEY";
  if (secret == NULL && (secret = env_value("LIVEKIT_API_SECRET")) != NULL)
    cli->secret_source = "LIVEKIT_API_SECRET";
  if (url == NULL || key == NULL || secret == NULL) {
    cfg = load_local_config(cli, error);
    if (cfg == NULL)
      return FALSE;
    if (url == NULL && (url = cfg_url = local_api_url(cfg)) != NULL)
      url_source = "api_port in the local config";
    if (key == NULL && (key = sl_config_get_string(cfg, "api_key")) != NULL)
      cli->key_source = "api_key in the local config";
    if (secret == NULL && (secret = sl_config_get_string(cfg, "api_secret")) != NULL)
      cli->secret_source = "api_secret in the local config";
  }
  if (url == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "no API address: pass --url, set LIVEKIT_URL, or set api_port in the local "
                "config (%s)",
                sl_config_source(cfg));
    return FALSE;
  }
  if (key == NULL || secret == NULL || *key == '\0' || *secret == '\0') {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "no API %s: pass --api-key and --api-secret, set LIVEKIT_API_KEY and "
                "LIVEKIT_API_SECRET, or set api_key and api_secret in the local config%s%s%s",
                key == NULL || *key == '\0' ? "key" : "secret", cfg ? " (" : "",
                cfg ? sl_config_source(cfg) : "", cfg ? ")" : "");
    return FALSE;
  }
  cli->url = api_base_url(url, url_source, error);
  if (cli->url == NULL)
    return FALSE;
  cli->api_key = g_strdup(key);
  cli->api_secret = g_strdup(secret);
  cli->http = soup_session_new_with_options("timeout", CLI_TIMEOUT_S, "user-agent",
                                            "sluice-cli/" SLUICE_VERSION, NULL);
  return TRUE;
}

/* ---- Twirp calls ------------------------------------------------------------------------- */

/* A non-200 answer as an error: Twirp's {"code","msg"} when it is one. Refused credentials are
 * SL_CLI_EXIT_UNREACHABLE like a wrong address: either way the fix is in the settings, not in
 * the request. */
static void set_http_error(Cli *cli, const char *method, SoupMessage *msg, GBytes *body,
                           GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  gsize len = 0;
  const char *data = g_bytes_get_data(body, &len);
  JsonNode *root;
  JsonObject *o = NULL;
  const char *code = NULL, *text = NULL;

  if (len > 0 && json_parser_load_from_data(parser, data, (gssize)len, NULL) &&
      (root = json_parser_get_root(parser)) != NULL && JSON_NODE_HOLDS_OBJECT(root)) {
    o = json_node_get_object(root);
    code = json_object_get_string_member_with_default(o, "code", NULL);
    text = json_object_get_string_member_with_default(o, "msg", "");
  }
  if (code == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "%s: HTTP %u %s from %s, not a Twirp answer\n  check: is that the API "
                "(api_port) of a sluice or LiveKit server?",
                method, soup_message_get_status(msg),
                soup_message_get_reason_phrase(msg) ? soup_message_get_reason_phrase(msg) : "",
                cli->url);
  } else if (strcmp(code, "unauthenticated") == 0 || strcmp(code, "permission_denied") == 0) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "%s: the server refused the credentials (%s: %s)\n"
                "  check: the API key '%s' (from %s) and its secret (from %s)\n"
                "  must be the server's api_key and api_secret; this machine's clock must be "
                "right",
                method, code, text, cli->api_key, cli->key_source, cli->secret_source);
  } else {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_REFUSED, "%s: %s: %s", method, code, text);
  }
}

/* Calls `service`/`method` with `req` (normalised or any form sl_pbjson reads; borrowed) under a
 * fresh token holding `grant`. Returns the answer as normalised `resp_type` (transfer full), and
 * its text as the server sent it in `out_text` when asked. */
static JsonObject *cli_call(Cli *cli, const char *service, const char *method, const char *grant,
                            const SlPbMessage *req_type, JsonObject *req,
                            const SlPbMessage *resp_type, char **out_text, GError **error)
{
  g_autoptr(JsonObject) claims = json_object_new();
  JsonObject *video = json_object_new();
  g_autoptr(GError) local = NULL;
  g_autofree char *token = NULL;
  g_autofree char *body = NULL;
  g_autofree char *url = NULL;
  g_autofree char *auth = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) answer = NULL;
  JsonObject *result = NULL;
  const char *data;
  gsize len = 0;

  /* Only the grant this call needs; sl_jwt_sign() bounds it to SL_JWT_DEFAULT_TTL_S (10 min). */
  json_object_set_boolean_member(video, grant, TRUE);
  json_object_set_object_member(claims, "video", video);
  token = sl_jwt_sign(claims, cli->api_key, cli->api_secret, &local);
  if (token == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE, "cannot make an access token: %s",
                local->message);
    return NULL;
  }
  body = sl_pbjson_to_string(req_type, req, SL_PBJSON_NONE, &local);
  if (body == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_USAGE, "%s: %s", method, local->message);
    return NULL;
  }
  url = g_strdup_printf("%s/twirp/%s/%s", cli->url, service, method);
  msg = soup_message_new(SOUP_METHOD_POST, url);
  if (msg == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE, "'%s' is not a usable URL", url);
    return NULL;
  }
  auth = g_strconcat("Bearer ", token, NULL);
  soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
  len = strlen(body);
  request = g_bytes_new_take(g_steal_pointer(&body), len);
  soup_message_set_request_body_from_bytes(msg, "application/json", request);

  answer = soup_session_send_and_read(cli->http, msg, NULL, &local);
  if (answer == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "cannot reach the API at %s: %s\n"
                "  check: --url or LIVEKIT_URL (or api_port in the local config), and that\n"
                "  sluice runs there with api_port set",
                cli->url,
                g_error_matches(local, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)
                    ? "no answer within " G_STRINGIFY(CLI_TIMEOUT_S) " s"
                    : local->message);
    return NULL;
  }
  if (soup_message_get_status(msg) != SOUP_STATUS_OK) {
    set_http_error(cli, method, msg, answer, error);
    return NULL;
  }
  data = g_bytes_get_data(answer, &len);
  result = sl_pbjson_parse(resp_type, data, (gssize)len, SL_PBJSON_NONE, &local);
  if (result == NULL) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE,
                "%s: the answer from %s is not a %s (%s)\n  check: is that the API of a sluice "
                "or LiveKit server?",
                method, cli->url, resp_type->full_name, local->message);
    return NULL;
  }
  if (out_text != NULL)
    *out_text = g_strndup(data, len);
  return result;
}

static JsonObject *call_ingress(Cli *cli, const char *method, const SlPbMessage *req_type,
                                JsonObject *req, const SlPbMessage *resp_type, char **out_text,
                                GError **error)
{
  return cli_call(cli, "livekit.Ingress", method, "ingressAdmin", req_type, req, resp_type,
                  out_text, error);
}

static JsonObject *call_egress(Cli *cli, const char *method, const SlPbMessage *req_type,
                               JsonObject *req, const SlPbMessage *resp_type, char **out_text,
                               GError **error)
{
  return cli_call(cli, "livekit.Egress", method, "roomRecord", req_type, req, resp_type, out_text,
                  error);
}

/* ---- formatting -------------------------------------------------------------------------- */

static void print_text(const char *text)
{
  gsize len = strlen(text);
  fwrite(text, 1, len, stdout);
  if (len == 0 || text[len - 1] != '\n')
    fputc('\n', stdout);
}

static const char *str_or(JsonObject *o, const char *member, const char *fallback)
{
  const char *v = o ? json_object_get_string_member_with_default(o, member, NULL) : NULL;
  return v != NULL && *v != '\0' ? v : fallback;
}

static gint64 int_of(JsonObject *o, const char *member)
{
  return o ? json_object_get_int_member_with_default(o, member, 0) : 0;
}

static JsonObject *object_of(JsonObject *o, const char *member)
{
  JsonNode *n = o ? json_object_get_member(o, member) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *array_of(JsonObject *o, const char *member)
{
  JsonNode *n = o ? json_object_get_member(o, member) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* Local time, ISO 8601 with the offset; "-" when unset. */
static char *format_time(gint64 ns)
{
  g_autoptr(GDateTime) dt = ns > 0 ? g_date_time_new_from_unix_local(ns / 1000000000) : NULL;
  return dt ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z") : g_strdup("-");
}

static char *format_duration(gint64 ns)
{
  return ns > 0 ? g_strdup_printf("%.2f s", (double)ns / 1e9) : g_strdup("-");
}

static char *format_size(gint64 bytes)
{
  return bytes > 0 ? g_strdup_printf("%.2f MB", (double)bytes / 1e6) : g_strdup("-");
}

static char *format_bitrate(gint64 bytes, gint64 ns)
{
  return bytes > 0 && ns > 0
             ? g_strdup_printf("%.0f kb/s", (double)bytes * 8.0 / ((double)ns / 1e9) / 1e3)
             : g_strdup("-");
}

/* A table printed with its columns aligned; cells are copied. */
typedef struct {
  guint n_cols;
  GPtrArray *rows; /* GStrv */
} CliTable;

static void table_init(CliTable *t, guint n_cols)
{
  t->n_cols = n_cols;
  t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
}

static void table_add(CliTable *t, ...)
{
  char **row = g_new0(char *, t->n_cols + 1);
  va_list ap;
  va_start(ap, t);
  for (guint i = 0; i < t->n_cols; i++) {
    const char *cell = va_arg(ap, const char *);
    row[i] = g_strdup(cell ? cell : "-");
  }
  va_end(ap);
  g_ptr_array_add(t->rows, row);
}

static void table_print_and_clear(CliTable *t)
{
  g_autofree guint *width = g_new0(guint, t->n_cols);
  for (guint r = 0; r < t->rows->len; r++) {
    char **row = g_ptr_array_index(t->rows, r);
    for (guint c = 0; c < t->n_cols; c++)
      width[c] = MAX(width[c], (guint)g_utf8_strlen(row[c], -1));
  }
  for (guint r = 0; r < t->rows->len; r++) {
    char **row = g_ptr_array_index(t->rows, r);
    g_autoptr(GString) line = g_string_new(NULL);
    for (guint c = 0; c < t->n_cols; c++) {
      g_string_append(line, row[c]);
      if (c + 1 < t->n_cols)
        for (guint pad = (guint)g_utf8_strlen(row[c], -1); pad < width[c] + 2; pad++)
          g_string_append_c(line, ' ');
    }
    puts(line->str);
  }
  g_clear_pointer(&t->rows, g_ptr_array_unref);
}

/* ---- ingress ----------------------------------------------------------------------------- */

static const char *ingress_status(JsonObject *info)
{
  const char *name = sl_pbjson_enum_name(&sl_pb_enum_livekit_IngressState_Status,
                                         int_of(object_of(info, "state"), "status"));
  return name ? name : "?";
}

static gboolean ingress_enabled(JsonObject *info)
{
  /* `enabled` is proto3 optional; unset means enabled, as LiveKit reads it. */
  return json_object_get_boolean_member_with_default(info, "enabled", TRUE);
}

/* One ingress, field by field. The stream key is shown in full only when `reveal_key`: right
 * after creation, the one time a person needs to copy it. */
static void print_ingress(JsonObject *info, const char *verb, gboolean reveal_key)
{
  JsonObject *state = object_of(info, "state");
  const char *key = str_or(info, "stream_key", NULL);
  const char *url = str_or(info, "url", NULL);
  g_autofree char *shown_key = reveal_key ? g_strdup(key ? key : "-") : sl_redact_secret(key);
  g_autofree char *started = format_time(int_of(state, "started_at"));

  printf("ingress %s %s\n", str_or(info, "ingress_id", "?"), verb);
  printf("  name         %s\n", str_or(info, "name", "-"));
  printf("  room         %s\n", str_or(info, "room_name", "-"));
  printf("  identity     %s\n", str_or(info, "participant_identity", "-"));
  if (str_or(info, "participant_name", NULL))
    printf("  participant  %s\n", str_or(info, "participant_name", NULL));
  printf("  enabled      %s\n", ingress_enabled(info) ? "yes" : "no");
  printf("  status       %s%s%s\n", ingress_status(info), str_or(state, "error", NULL) ? ": " : "",
         str_or(state, "error", ""));
  if (int_of(state, "started_at") > 0)
    printf("  started      %s\n", started);
  printf("  url          %s\n", url ? url : "-");
  printf("  stream key   %s\n", shown_key);
  if (reveal_key && url && key)
    printf("  publish to   %s/%s\n", url, key);
}

static gboolean run_ingress_create(Cli *cli, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;
  const char *room = required(cli, "room", error);
  const char *identity = room ? required(cli, "identity", error) : NULL;

  if (identity == NULL)
    return FALSE;
  json_object_set_string_member(req, "input_type", "RTMP_INPUT");
  json_object_set_string_member(req, "room_name", room);
  json_object_set_string_member(req, "participant_identity", identity);
  if (opt(cli, "name"))
    json_object_set_string_member(req, "name", opt(cli, "name"));
  if (opt(cli, "participant-name"))
    json_object_set_string_member(req, "participant_name", opt(cli, "participant-name"));
  if (has(cli, "disabled"))
    json_object_set_boolean_member(req, "enabled", FALSE);
  if (!cli_connect(cli, error))
    return FALSE;
  info = call_ingress(cli, "CreateIngress", &sl_pb_livekit_CreateIngressRequest, req,
                      &sl_pb_livekit_IngressInfo, &text, error);
  if (info == NULL)
    return FALSE;
  if (cli->json) {
    print_text(text);
    return TRUE;
  }
  print_ingress(info, "created", TRUE);
  printf("(OBS: server %s, stream key as above)\n", str_or(info, "url", "-"));
  return TRUE;
}

static gboolean run_ingress_list(Cli *cli, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) resp = NULL;
  g_autofree char *text = NULL;
  JsonArray *items;
  CliTable t;
  guint n;

  if (opt(cli, "room"))
    json_object_set_string_member(req, "room_name", opt(cli, "room"));
  if (opt(cli, "id"))
    json_object_set_string_member(req, "ingress_id", opt(cli, "id"));
  if (!cli_connect(cli, error))
    return FALSE;
  resp = call_ingress(cli, "ListIngress", &sl_pb_livekit_ListIngressRequest, req,
                      &sl_pb_livekit_ListIngressResponse, &text, error);
  if (resp == NULL)
    return FALSE;
  if (cli->json) {
    print_text(text);
    return TRUE;
  }
  items = array_of(resp, "items");
  n = items ? json_array_get_length(items) : 0;
  if (n == 0) {
    printf("no ingresses\n");
    return TRUE;
  }
  table_init(&t, 8);
  table_add(&t, "ID", "NAME", "ROOM", "IDENTITY", "STATUS", "ENABLED", "STARTED", "STREAM KEY");
  for (guint i = 0; i < n; i++) {
    JsonObject *info = json_array_get_object_element(items, i);
    g_autofree char *key = sl_redact_secret(str_or(info, "stream_key", NULL));
    g_autofree char *started = format_time(int_of(object_of(info, "state"), "started_at"));
    table_add(&t, str_or(info, "ingress_id", "?"), str_or(info, "name", "-"),
              str_or(info, "room_name", "-"), str_or(info, "participant_identity", "-"),
              ingress_status(info), ingress_enabled(info) ? "yes" : "no", started, key);
  }
  table_print_and_clear(&t);
  for (guint i = 0; i < n; i++) {
    JsonObject *info = json_array_get_object_element(items, i);
    const char *err = str_or(object_of(info, "state"), "error", NULL);
    if (err != NULL)
      printf("%s: %s\n", str_or(info, "ingress_id", "?"), err);
  }
  return TRUE;
}

static gboolean run_ingress_update(Cli *cli, GError **error)
{
  static const struct {
    const char *option, *field;
  } strings[] = {
      {"room", "room_name"},
      {"identity", "participant_identity"},
      {"name", "name"},
      {"participant-name", "participant_name"},
  };
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;
  gboolean changes = FALSE;

  if (has(cli, "enable") && has(cli, "disable"))
    return usage_error(error, "--enable and --disable exclude each other");
  json_object_set_string_member(req, "ingress_id", cli->arg);
  for (guint i = 0; i < G_N_ELEMENTS(strings); i++) {
    const char *v = opt(cli, strings[i].option);
    if (v == NULL)
      continue;
    if (*v == '\0')
      return usage_error(error, "--%s cannot be empty", strings[i].option);
    json_object_set_string_member(req, strings[i].field, v);
    changes = TRUE;
  }
  if (has(cli, "enable") || has(cli, "disable")) {
    json_object_set_boolean_member(req, "enabled", has(cli, "enable"));
    changes = TRUE;
  }
  if (!changes)
    return usage_error(error, "nothing to change: give --room, --identity, --name, "
                              "--participant-name, --enable or --disable");
  if (!cli_connect(cli, error))
    return FALSE;
  info = call_ingress(cli, "UpdateIngress", &sl_pb_livekit_UpdateIngressRequest, req,
                      &sl_pb_livekit_IngressInfo, &text, error);
  if (info == NULL)
    return FALSE;
  if (cli->json)
    print_text(text);
  else
    print_ingress(info, "updated", FALSE);
  return TRUE;
}

static gboolean run_ingress_delete(Cli *cli, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;

  json_object_set_string_member(req, "ingress_id", cli->arg);
  if (!cli_connect(cli, error))
    return FALSE;
  info = call_ingress(cli, "DeleteIngress", &sl_pb_livekit_DeleteIngressRequest, req,
                      &sl_pb_livekit_IngressInfo, &text, error);
  if (info == NULL)
    return FALSE;
  if (cli->json)
    print_text(text);
  else
    printf("ingress %s deleted (it was %s)\n", str_or(info, "ingress_id", cli->arg),
           ingress_status(info));
  return TRUE;
}

/* ---- egress ------------------------------------------------------------------------------ */

typedef struct {
  const char *kind; /* EgressInfo's request member */
  const char *label;
  const char *method;
  const SlPbMessage *request;
} CliEgressKind;

static const CliEgressKind egress_kinds[] = {
    {"room_composite", "room composite", "StartRoomCompositeEgress",
     &sl_pb_livekit_RoomCompositeEgressRequest},
    {"participant", "participant", "StartParticipantEgress",
     &sl_pb_livekit_ParticipantEgressRequest},
    {"track_composite", "track composite", "StartTrackCompositeEgress",
     &sl_pb_livekit_TrackCompositeEgressRequest},
    {"track", "track", "StartTrackEgress", &sl_pb_livekit_TrackEgressRequest},
    {"web", "web", "StartWebEgress", &sl_pb_livekit_WebEgressRequest},
};

/* The kind of an EgressInfo (which request it echoes) and that request. */
static const CliEgressKind *egress_kind_of(JsonObject *info, JsonObject **out_request)
{
  for (guint i = 0; i < G_N_ELEMENTS(egress_kinds); i++) {
    JsonObject *r = object_of(info, egress_kinds[i].kind);
    if (r != NULL) {
      if (out_request)
        *out_request = r;
      return &egress_kinds[i];
    }
  }
  if (out_request)
    *out_request = NULL;
  return NULL;
}

static gint64 egress_status(JsonObject *info)
{
  return int_of(info, "status");
}

static const char *egress_status_name(JsonObject *info)
{
  const char *name = sl_pbjson_enum_name(&sl_pb_enum_livekit_EgressStatus, egress_status(info));
  return name ? name : "?";
}

static gboolean egress_ended(JsonObject *info)
{
  gint64 st = egress_status(info);
  return st != 0 /* STARTING */ && st != 1 /* ACTIVE */ && st != 2 /* ENDING */;
}

static gboolean egress_completed(JsonObject *info)
{
  return egress_status(info) == 3; /* EGRESS_COMPLETE */
}

/* What the outputs have written so far: bytes over all results and the longest duration. A
 * segments output that is still running has no duration yet, but its segments' time span. */
static void egress_totals(JsonObject *info, gint64 *out_size, gint64 *out_duration)
{
  static const char *lists[] = {"file_results", "segment_results"};
  gint64 size = 0, duration = 0;
  for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
    JsonArray *a = array_of(info, lists[l]);
    for (guint i = 0; a && i < json_array_get_length(a); i++) {
      JsonObject *r = json_array_get_object_element(a, i);
      gint64 d = int_of(r, "duration");
      if (d == 0 && int_of(r, "started_at") > 0 && int_of(r, "ended_at") > int_of(r, "started_at"))
        d = int_of(r, "ended_at") - int_of(r, "started_at");
      size += int_of(r, "size");
      duration = MAX(duration, d);
    }
  }
  *out_size = size;
  *out_duration = duration;
}

/* "participant alice in room studio" and the like. */
static char *egress_describe(JsonObject *info)
{
  JsonObject *r;
  const CliEgressKind *k = egress_kind_of(info, &r);
  const char *room = str_or(info, "room_name", str_or(r, "room_name", "-"));
  if (k == NULL)
    return g_strdup_printf("egress of room %s", room);
  if (strcmp(k->kind, "participant") == 0)
    return g_strdup_printf("participant %s in room %s", str_or(r, "identity", "-"), room);
  if (strcmp(k->kind, "track") == 0)
    return g_strdup_printf("track %s in room %s", str_or(r, "track_id", "-"), room);
  if (strcmp(k->kind, "track_composite") == 0)
    return g_strdup_printf("tracks %s + %s in room %s", str_or(r, "video_track_id", "-"),
                           str_or(r, "audio_track_id", "-"), room);
  return g_strdup_printf("%s of room %s", k->label, room);
}

/* The final account of an egress: state, times, and every output's result. */
static void print_egress_summary(JsonObject *info)
{
  g_autofree char *what = egress_describe(info);
  g_autofree char *started = format_time(int_of(info, "started_at"));
  g_autofree char *ended = format_time(int_of(info, "ended_at"));
  JsonArray *files = array_of(info, "file_results");
  JsonArray *segs = array_of(info, "segment_results");
  const char *err = str_or(info, "error", NULL);

  printf("egress %s %s: %s\n", str_or(info, "egress_id", "?"), egress_status_name(info), what);
  printf("  started   %s\n", started);
  printf("  ended     %s\n", ended);
  for (guint i = 0; files && i < json_array_get_length(files); i++) {
    JsonObject *f = json_array_get_object_element(files, i);
    g_autofree char *size = format_size(int_of(f, "size"));
    g_autofree char *dur = format_duration(int_of(f, "duration"));
    g_autofree char *rate = format_bitrate(int_of(f, "size"), int_of(f, "duration"));
    printf("  file      %s  %s  %s  %s\n", str_or(f, "location", str_or(f, "filename", "-")), size,
           dur, rate);
  }
  for (guint i = 0; segs && i < json_array_get_length(segs); i++) {
    JsonObject *s = json_array_get_object_element(segs, i);
    g_autofree char *size = format_size(int_of(s, "size"));
    g_autofree char *dur = format_duration(int_of(s, "duration"));
    printf("  segments  %s  %s  %s  %" G_GINT64_FORMAT " segments\n",
           str_or(s, "playlist_location", str_or(s, "playlist_name", "-")), size, dur,
           int_of(s, "segment_count"));
    if (str_or(s, "live_playlist_location", NULL))
      printf("  live      %s\n", str_or(s, "live_playlist_location", NULL));
  }
  if (err != NULL)
    printf("  error     %s (code %" G_GINT64_FORMAT ")\n", err, int_of(info, "error_code"));
}

/* Adds the --file / --segments outputs to a start request. */
static gboolean add_outputs(Cli *cli, JsonObject *req, const char *kind, GError **error)
{
  const char *file = opt(cli, "file");
  const char *segments = opt(cli, "segments");
  const char *duration = opt(cli, "segment-duration");

  if ((file == NULL || *file == '\0') && (segments == NULL || *segments == '\0'))
    return usage_error(error, strcmp(kind, "track") == 0
                                  ? "--file is required"
                                  : "an output is required: --file PATH or --segments PREFIX");
  if ((segments == NULL || *segments == '\0') &&
      (opt(cli, "playlist") || opt(cli, "live-playlist") || duration))
    return usage_error(error,
                       "--playlist, --live-playlist and --segment-duration go with --segments");
  if (file != NULL && *file != '\0') {
    JsonObject *f = json_object_new();
    json_object_set_string_member(f, "filepath", file);
    /* A track egress writes the track as it is (DirectFileOutput); the others take a list. */
    if (strcmp(kind, "track") == 0) {
      json_object_set_object_member(req, "file", f);
    } else {
      JsonArray *list = json_array_new();
      json_array_add_object_element(list, f);
      json_object_set_array_member(req, "file_outputs", list);
    }
  }
  if (segments != NULL && *segments != '\0') {
    JsonObject *s = json_object_new();
    JsonArray *list = json_array_new();
    json_object_set_string_member(s, "filename_prefix", segments);
    if (opt(cli, "playlist"))
      json_object_set_string_member(s, "playlist_name", opt(cli, "playlist"));
    if (opt(cli, "live-playlist"))
      json_object_set_string_member(s, "live_playlist_name", opt(cli, "live-playlist"));
    if (duration != NULL) {
      guint64 seconds = 0;
      if (!g_ascii_string_to_unsigned(duration, 10, 1, 3600, &seconds, NULL)) {
        json_object_unref(s);
        json_array_unref(list);
        return usage_error(error, "--segment-duration: '%s' is not a number of seconds (1-3600)",
                           duration);
      }
      json_object_set_int_member(s, "segment_duration", (gint64)seconds);
    }
    json_array_add_object_element(list, s);
    json_object_set_array_member(req, "segment_outputs", list);
  }
  return TRUE;
}

/* The status line of --follow: state, elapsed time, and what the outputs report. `steady` is the
 * same without the elapsed time, to tell a change from the clock ticking. */
static char *progress_line(JsonObject *info, char **steady)
{
  gint64 size, duration, started = int_of(info, "started_at");
  gint64 end = egress_ended(info) && int_of(info, "ended_at") > 0 ? int_of(info, "ended_at")
                                                                  : g_get_real_time() * 1000;
  g_autofree char *elapsed =
      started > 0 ? g_strdup_printf("%" G_GINT64_FORMAT " s", MAX(end - started, 0) / 1000000000)
                  : g_strdup("-");
  g_autofree char *size_text = NULL;
  g_autofree char *dur_text = NULL;
  g_autofree char *rate_text = NULL;

  egress_totals(info, &size, &duration);
  size_text = format_size(size);
  dur_text = format_duration(duration);
  rate_text = format_bitrate(size, duration);
  *steady = g_strdup_printf("%s  size %s  duration %s  bitrate %s", egress_status_name(info),
                            size_text, dur_text, rate_text);
  return g_strdup_printf("%s  elapsed %s  size %s  duration %s  bitrate %s",
                         egress_status_name(info), elapsed, size_text, dur_text, rate_text);
}

/* The one EgressInfo ListEgress has for `id` (transfer full). */
static JsonObject *fetch_egress(Cli *cli, const char *id, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) resp = NULL;
  JsonArray *items;
  json_object_set_string_member(req, "egress_id", id);
  resp = call_egress(cli, "ListEgress", &sl_pb_livekit_ListEgressRequest, req,
                     &sl_pb_livekit_ListEgressResponse, NULL, error);
  if (resp == NULL)
    return NULL;
  items = array_of(resp, "items");
  for (guint i = 0; items && i < json_array_get_length(items); i++) {
    JsonObject *info = json_array_get_object_element(items, i);
    if (g_strcmp0(str_or(info, "egress_id", NULL), id) == 0)
      return json_object_ref(info);
  }
  g_set_error(error, CLI_ERROR, SL_CLI_EXIT_REFUSED, "egress %s is no longer listed", id);
  return NULL;
}

/* Shows `first` and then every change of its egress until it ends; fails (exit 1) unless it
 * completes. On a terminal the status line is rewritten in place; elsewhere (a log, a pipe) a
 * line is written per change. With --json each new EgressInfo is one line of canonical JSON. */
static gboolean follow_egress(Cli *cli, JsonObject *first, GError **error)
{
  g_autoptr(JsonObject) info = json_object_ref(first);
  g_autofree char *id = g_strdup(str_or(first, "egress_id", ""));
  g_autofree char *last = NULL;
  gboolean tty = !cli->json && isatty(STDOUT_FILENO);
  guint misses = 0;

  for (;;) {
    g_autoptr(GError) local = NULL;
    g_autoptr(JsonObject) next = NULL;
    g_autofree char *steady = NULL;
    g_autofree char *line = NULL;

    if (cli->json) {
      line = sl_pbjson_to_string(&sl_pb_livekit_EgressInfo, info, SL_PBJSON_NONE, &local);
      if (line == NULL) {
        g_set_error(error, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE, "EgressInfo: %s", local->message);
        return FALSE;
      }
      steady = g_strdup(line);
    } else {
      line = progress_line(info, &steady);
    }
    if (tty) {
      printf("\r\033[K%s", line);
    } else if (g_strcmp0(steady, last) != 0) {
      printf("%s\n", line);
    }
    fflush(stdout);
    g_free(last);
    last = g_steal_pointer(&steady);
    if (egress_ended(info))
      break;

    g_usleep(CLI_FOLLOW_INTERVAL_US);
    next = fetch_egress(cli, id, &local);
    if (next == NULL) {
      if (g_error_matches(local, CLI_ERROR, SL_CLI_EXIT_UNREACHABLE) &&
          ++misses < CLI_FOLLOW_MAX_MISSES)
        continue;
      if (tty)
        fputc('\n', stdout);
      g_propagate_error(error, g_steal_pointer(&local));
      return FALSE;
    }
    misses = 0;
    g_clear_pointer(&info, json_object_unref);
    info = g_steal_pointer(&next);
  }
  if (tty)
    fputc('\n', stdout);
  if (!cli->json)
    print_egress_summary(info);
  fflush(stdout);
  if (!egress_completed(info)) {
    g_set_error(error, CLI_ERROR, SL_CLI_EXIT_REFUSED, "egress %s ended %s%s%s", id,
                egress_status_name(info), str_or(info, "error", NULL) ? ": " : "",
                str_or(info, "error", ""));
    return FALSE;
  }
  return TRUE;
}

static gboolean run_egress_start(Cli *cli, GError **error)
{
  const CliEgressKind *kind = NULL;
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;
  g_autofree char *what = NULL;
  const char *room = required(cli, "room", error);

  for (guint i = 0; i < G_N_ELEMENTS(egress_kinds); i++)
    if (strcmp(egress_kinds[i].kind, cli->cmd->kind) == 0)
      kind = &egress_kinds[i];
  g_assert(kind != NULL);
  if (room == NULL)
    return FALSE;
  json_object_set_string_member(req, "room_name", room);
  if (strcmp(kind->kind, "room_composite") == 0) {
    if (has(cli, "audio-only") && has(cli, "video-only"))
      return usage_error(error, "--audio-only and --video-only exclude each other");
    if (has(cli, "audio-only"))
      json_object_set_boolean_member(req, "audio_only", TRUE);
    if (has(cli, "video-only"))
      json_object_set_boolean_member(req, "video_only", TRUE);
  } else if (strcmp(kind->kind, "participant") == 0) {
    const char *identity = required(cli, "identity", error);
    if (identity == NULL)
      return FALSE;
    json_object_set_string_member(req, "identity", identity);
  } else if (strcmp(kind->kind, "track_composite") == 0) {
    const char *v = opt(cli, "video-track"), *a = opt(cli, "audio-track");
    if ((v == NULL || *v == '\0') && (a == NULL || *a == '\0'))
      return usage_error(error, "--video-track or --audio-track is required");
    if (v != NULL && *v != '\0')
      json_object_set_string_member(req, "video_track_id", v);
    if (a != NULL && *a != '\0')
      json_object_set_string_member(req, "audio_track_id", a);
  } else if (strcmp(kind->kind, "track") == 0) {
    const char *track = required(cli, "track", error);
    if (track == NULL)
      return FALSE;
    json_object_set_string_member(req, "track_id", track);
  }
  if (!add_outputs(cli, req, kind->kind, error))
    return FALSE;
  if (!cli_connect(cli, error))
    return FALSE;
  info =
      call_egress(cli, kind->method, kind->request, req, &sl_pb_livekit_EgressInfo, &text, error);
  if (info == NULL)
    return FALSE;
  if (cli->json && !has(cli, "follow")) {
    print_text(text);
    return TRUE;
  }
  if (!cli->json) {
    what = egress_describe(info);
    printf("egress %s started: %s\n", str_or(info, "egress_id", "?"), what);
    if (!has(cli, "follow"))
      printf("  %s; stop it with: sluice egress stop %s\n", egress_status_name(info),
             str_or(info, "egress_id", "?"));
    fflush(stdout);
  }
  return has(cli, "follow") ? follow_egress(cli, info, error) : TRUE;
}

static gboolean run_egress_list(Cli *cli, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) resp = NULL;
  g_autofree char *text = NULL;
  JsonArray *items;
  CliTable t;
  guint n;

  if (opt(cli, "room"))
    json_object_set_string_member(req, "room_name", opt(cli, "room"));
  if (opt(cli, "id"))
    json_object_set_string_member(req, "egress_id", opt(cli, "id"));
  if (has(cli, "active"))
    json_object_set_boolean_member(req, "active", TRUE);
  if (!cli_connect(cli, error))
    return FALSE;
  resp = call_egress(cli, "ListEgress", &sl_pb_livekit_ListEgressRequest, req,
                     &sl_pb_livekit_ListEgressResponse, &text, error);
  if (resp == NULL)
    return FALSE;
  if (cli->json) {
    print_text(text);
    return TRUE;
  }
  items = array_of(resp, "items");
  n = items ? json_array_get_length(items) : 0;
  if (n == 0) {
    printf("no egresses\n");
    return TRUE;
  }
  table_init(&t, 9);
  table_add(&t, "ID", "KIND", "ROOM", "STATUS", "STARTED", "ENDED", "DURATION", "SIZE", "OUTPUT");
  for (guint i = 0; i < n; i++) {
    JsonObject *info = json_array_get_object_element(items, i);
    const CliEgressKind *k = egress_kind_of(info, NULL);
    JsonArray *files = array_of(info, "file_results");
    JsonArray *segs = array_of(info, "segment_results");
    gint64 size, duration;
    g_autofree char *started = format_time(int_of(info, "started_at"));
    g_autofree char *ended = format_time(int_of(info, "ended_at"));
    g_autofree char *size_text = NULL;
    g_autofree char *dur_text = NULL;
    g_autofree char *output = NULL;

    egress_totals(info, &size, &duration);
    size_text = format_size(size);
    dur_text = format_duration(duration);
    if (str_or(info, "error", NULL))
      output = g_strdup_printf("error: %s", str_or(info, "error", NULL));
    else if (files && json_array_get_length(files) > 0)
      output = g_strdup(str_or(json_array_get_object_element(files, 0), "location", "-"));
    else if (segs && json_array_get_length(segs) > 0)
      output = g_strdup(str_or(json_array_get_object_element(segs, 0), "playlist_location", "-"));
    table_add(&t, str_or(info, "egress_id", "?"), k ? k->label : "-",
              str_or(info, "room_name", "-"), egress_status_name(info), started, ended, dur_text,
              size_text, output);
  }
  table_print_and_clear(&t);
  return TRUE;
}

static gboolean run_egress_stop(Cli *cli, GError **error)
{
  g_autoptr(JsonObject) req = json_object_new();
  g_autoptr(JsonObject) info = NULL;
  g_autofree char *text = NULL;

  json_object_set_string_member(req, "egress_id", cli->arg);
  if (!cli_connect(cli, error))
    return FALSE;
  info = call_egress(cli, "StopEgress", &sl_pb_livekit_StopEgressRequest, req,
                     &sl_pb_livekit_EgressInfo, &text, error);
  if (info == NULL)
    return FALSE;
  if (has(cli, "follow"))
    return follow_egress(cli, info, error);
  if (cli->json)
    print_text(text);
  else if (egress_ended(info))
    print_egress_summary(info);
  else
    printf("egress %s stopping (%s): its outputs are being finalised\n",
           str_or(info, "egress_id", cli->arg), egress_status_name(info));
  return TRUE;
}

/* ---- entry ------------------------------------------------------------------------------- */

int sl_cli_main(int argc, char **argv)
{
  g_auto(Cli) cli = {0};
  g_autoptr(GError) err = NULL;
  g_autoptr(GArray) words = word_indexes(argc, argv);
  const CliGroup *group = NULL;
  guint n_taken = 0;
  int status = SL_CLI_EXIT_OK;

  cli.cmd = words->len > 0 ? match_command(argv, words, &n_taken) : NULL;
  if (cli.cmd == NULL) {
    group = words->len > 0 ? match_group(argv, words) : &groups[0];
    if (wants_help(argc, argv)) {
      print_group_help(stdout, group);
      goto out;
    }
    {
      guint depth = strchr(group->words, ' ') ? 2 : 1;
      if (words->len > depth)
        fprintf(stderr, "error: unknown command 'sluice %s %s'\n\n", group->words,
                argv[g_array_index(words, int, depth)]);
      else
        fprintf(stderr, "error: 'sluice %s' needs a command\n\n", group->words);
    }
    print_group_help(stderr, group);
    status = SL_CLI_EXIT_USAGE;
    goto out;
  }
  if (wants_help(argc, argv)) {
    print_command_help(stdout, cli.cmd);
    goto out;
  }
  if (!parse_options(&cli, argc, argv, words, n_taken, &err) || !cli.cmd->run(&cli, &err)) {
    status = err->domain == CLI_ERROR ? err->code : SL_CLI_EXIT_REFUSED;
    fflush(stdout);
    fprintf(stderr, "error: %s\n", err->message);
    if (status == SL_CLI_EXIT_USAGE) {
      print_usage_line(stderr, cli.cmd);
      fprintf(stderr, "Run 'sluice %s --help' for its options.\n", cli.cmd->words);
    }
  }
out:
  fflush(stdout);
  return status;
}
