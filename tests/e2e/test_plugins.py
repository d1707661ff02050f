"""Plugins from the outside: `sluice plugins` with refusals, and a third-party plugin built
against an installed sluice with nothing but pkg-config."""
import os
import shutil
import tempfile

from sluicetest import BUILD, SLUICE, SRC, Sluice, Tap, free_port, http_get, run, write_config

t = Tap()
TEST_PLUGINS = os.environ.get("SLUICE_TEST_PLUGIN_DIR", os.path.join(BUILD, "tests", "plugins-abi"))


def test_plugins_lists_refusals_with_reasons():
    r = run([SLUICE, "plugins", "--config-body", "plugins:\n  enable: [abi-good]\n"],
            env={"SLUICE_PLUGIN_PATH": TEST_PLUGINS})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    expect = {
        "abi-good": "enabled",
        "abi-older-minor": "not enabled",
    }
    for name, status in expect.items():
        line = [l for l in out.splitlines() if l.startswith(name + " ")]
        assert line and status in line[0] and " 1." in line[0], out
    reasons = {
        "abi-newer-minor": "newer than this sluice's ABI",
        "abi-other-major": "major version must match",
        "abi-larger-size": "larger than the",
        "abi-larger-vtable": "input vtable is",
        "abi-no-init": "missing mandatory callback init",
        "abi-no-start": "missing mandatory input callback start",
        "abi-no-entry": "has no entry symbol",
        "abi-name-mismatch": "calls itself 'someone-else'",
    }
    lines = out.splitlines()
    for name, reason in reasons.items():
        idx = [i for i, l in enumerate(lines) if l.startswith(name + " ")]
        assert idx, "%s not listed:\n%s" % (name, out)
        assert "refused" in lines[idx[0]]
        assert reason in lines[idx[0] + 1], "%s: %s" % (name, lines[idx[0] + 1])


tmp = tempfile.mkdtemp(prefix="sluice-sdk-")
prefix = os.path.join(tmp, "prefix")


def test_install_into_temporary_prefix():
    bdir = os.path.join(tmp, "build")
    r = run(["meson", "setup", bdir, SRC, "--prefix", prefix, "-Dtests=false"], timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["meson", "install", "-C", bdir], timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for rel in ["bin/sluice", "include/sluice/plugin.h", "include/sluice/host.h",
                "lib/pkgconfig/sluice-plugin.pc", "share/sluice/sluice.yaml"]:
        assert os.path.exists(os.path.join(prefix, rel)), rel
    assert os.path.isdir(os.path.join(prefix, "lib", "sluice", "plugins"))


def installed_env():
    return {"PKG_CONFIG_PATH": os.path.join(prefix, "lib", "pkgconfig"), "SLUICE_PLUGIN_PATH": ""}


def test_example_builds_from_pkg_config_alone():
    # A copy outside the source tree: nothing but pkg-config can find the headers.
    work = os.path.join(tmp, "plugin-hello")
    shutil.copytree(os.path.join(SRC, "examples", "plugin-hello"), work)
    r = run(["make", "-C", work], env=installed_env(), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-I%s/include" % prefix in r.stdout, r.stdout
    assert SRC + "/include" not in r.stdout
    r = run(["make", "-C", work, "install"], env=installed_env(), timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.exists(os.path.join(prefix, "lib", "sluice", "plugins", "sluice-hello.so"))


def installed_sluice():
    return os.path.join(prefix, "bin", "sluice")


def test_installed_sluice_lists_example():
    r = run([installed_sluice(), "plugins", "--keys", "--config-body",
             "plugins:\n  enable: [hello]\n"], env=installed_env())
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("hello ")]
    assert line, r.stdout
    assert "input" in line[0] and "1.0.0" in line[0] and "enabled" in line[0], line[0]
    assert "plugins.hello.repeat" in r.stdout and "plugins.hello.greeting" in r.stdout


def test_example_config_key_validated():
    bad = write_config("plugins:\n  enable: [hello]\n  hello:\n    repeat: 99\n")
    good = write_config("plugins:\n  enable: [hello]\n  hello:\n    repeat: 2\n")
    try:
        r = run([installed_sluice(), "config", "check", bad], env=installed_env())
        assert r.returncode != 0
        assert "%s:4: plugins.hello.repeat: 99 is out of range (1 to 10)" % bad in r.stderr, r.stderr
        r = run([installed_sluice(), "config", "check", good], env=installed_env())
        assert r.returncode == 0, r.stderr
    finally:
        os.unlink(bad)
        os.unlink(good)


def test_example_runs_in_the_service():
    p = free_port()
    path = write_config("prometheus_port: %d\nbind_address: 127.0.0.1\nplugins:\n  enable: [hello]\n"
                        "  hello:\n    greeting: hi from the example\n    repeat: 2\n" % p)
    s = Sluice(["--config", path], env=installed_env(), binary=installed_sluice())
    try:
        s.wait_ready()
        assert s.log().count("plugin:hello: hi from the example") == 2, s.log()
        status, body = http_get("http://127.0.0.1:%d/metrics" % p)
        assert "sluice_hello_greetings_total 2" in body, body
        assert 'sluice_plugin_info{plugin="hello",kind="input",version="1.0.0"} 1' in body, body
    finally:
        s.stop()
        os.unlink(path)


def test_installed_sample_config_checks():
    r = run([installed_sluice(), "config", "check",
             os.path.join(prefix, "share", "sluice", "sluice.yaml")], env=installed_env())
    assert r.returncode == 0, r.stderr


t.run(test_plugins_lists_refusals_with_reasons)
t.run(test_install_into_temporary_prefix)
t.run(test_example_builds_from_pkg_config_alone)
t.run(test_installed_sluice_lists_example)
t.run(test_example_config_key_validated)
t.run(test_example_runs_in_the_service)
t.run(test_installed_sample_config_checks)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
