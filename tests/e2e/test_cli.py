"""The sluice command line: --version, config check, help, secrets kept out of messages."""
import os
import re

from sluicetest import SLUICE, SRC, Tap, run, write_config

t = Tap()
SAMPLE = os.path.join(SRC, "share", "sluice.yaml")


def test_version():
    r = run([SLUICE, "--version"])
    assert r.returncode == 0, r
    assert re.match(r"^sluice \d+\.\d+\.\d+ \(plugin ABI 1\.\d+\)$", r.stdout.strip()), r.stdout


def test_config_check_sample_ok():
    r = run([SLUICE, "config", "check", SAMPLE])
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
    assert "error" not in r.stderr, r.stderr


def test_config_check_bad_port_names_line_3():
    path = write_config("api_key: devkey\nprometheus_port: 7889\nhealth_port: not-a-port\n")
    r = run([SLUICE, "config", "check", path])
    os.unlink(path)
    assert r.returncode != 0, r
    assert "%s:3: health_port:" % path in r.stderr, r.stderr


def test_unknown_key_is_a_warning_with_line_and_hint():
    path = write_config("health_port: 7888\nhelth_port: 1\n")
    r = run([SLUICE, "config", "check", path])
    os.unlink(path)
    assert r.returncode == 0, r.stderr
    assert "warning: %s:2: helth_port: unknown key" % path in r.stderr, r.stderr
    assert "did you mean 'health_port'" in r.stderr


def test_livekit_keys_accepted_with_note():
    path = write_config("ws_url: ws://localhost:7880\ntemplate_port: 7980\nlog_level: debug\n"
                        "backup_storage: /tmp/backup\nrtmp_port: 1935\nwhip_port: 8080\n"
                        "cpu_cost:\n  rtmp_cpu_cost: 2.0\n  min_idle_ratio: 0.3\n"
                        "storage:\n  s3:\n    bucket: b\n    region: us-east-1\n")
    r = run([SLUICE, "config", "check", path])
    os.unlink(path)
    assert r.returncode == 0, r.stderr
    assert "note: %s:1: ws_url: accepted; not used by sluice" % path in r.stderr, r.stderr
    assert "note: %s:3: log_level: older spelling of logging.level" % path in r.stderr, r.stderr


def test_yaml_syntax_error_has_line():
    path = write_config("health_port: 1\nlogging:\n  level: [unclosed\n")
    r = run([SLUICE, "config", "check", path])
    os.unlink(path)
    assert r.returncode != 0
    assert re.search(re.escape(path) + r":\d+:", r.stderr), r.stderr


def test_config_body_from_environment():
    r = run([SLUICE, "config", "check"], env={"SLUICE_CONFIG_BODY": "health_port: 70000\n"})
    assert r.returncode != 0
    assert "<SLUICE_CONFIG_BODY>:1: health_port:" in r.stderr, r.stderr
    r = run([SLUICE, "config", "check"], env={"EGRESS_CONFIG_BODY": "health_port: 8080\n"})
    assert r.returncode == 0, r.stderr
    assert "<EGRESS_CONFIG_BODY>: OK" in r.stdout


def test_secret_never_printed():
    secret = "s3cr3t-value-1234567"
    path = write_config("api_secret: %s\nhealth_port: %s\n" % (secret, secret))
    r = run([SLUICE, "config", "check", path])
    os.unlink(path)
    assert r.returncode != 0
    assert secret not in r.stderr + r.stdout, r.stderr
    assert "{s3c...567}" in r.stderr, r.stderr


def test_unknown_command_and_help():
    r = run([SLUICE, "frobnicate"])
    assert r.returncode == 2
    assert "unknown command" in r.stderr and "Usage:" in r.stderr
    r = run([SLUICE, "--help"])
    assert r.returncode == 0 and "config check" in r.stdout


def test_missing_config_file():
    r = run([SLUICE, "config", "check", "/nonexistent/sluice.yaml"])
    assert r.returncode != 0
    assert "cannot read config" in r.stderr and "/nonexistent/sluice.yaml" in r.stderr, r.stderr


for fn in [test_version, test_config_check_sample_ok, test_config_check_bad_port_names_line_3,
           test_unknown_key_is_a_warning_with_line_and_hint, test_livekit_keys_accepted_with_note,
           test_yaml_syntax_error_has_line, test_config_body_from_environment,
           test_secret_never_printed, test_unknown_command_and_help, test_missing_config_file]:
    t.run(fn)
t.done()
