/* The embedded single-node default: the configuration used when none is given (no --config and
 * none of the *_CONFIG_FILE / *_CONFIG_BODY variables). Unlike the per-key defaults, which keep
 * LiveKit's meaning (a port of 0 is off) so that LiveKit configs behave as before, this default is
 * meant for a person who just runs `sluice`: the health and metrics surfaces are on. */
#include "config.h"

const char sl_embedded_default_config[] = "# sluice embedded single-node default\n"
                                          "health_port: 7888\n"
                                          "prometheus_port: 7889\n"
                                          "output_dir: ./recordings\n";
