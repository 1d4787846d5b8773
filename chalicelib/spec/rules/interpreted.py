"""Environment variable names that something in the image interprets as code or as where to find
code: the dynamic loader and the C library, the JVM, bash (every WSO2 and Berth entrypoint is a
bash script), and the entrypoints themselves. A spec may not set them, as plain values or as
secrets (a secret becomes an environment variable of the container all the same: ECS developer
guide, "Pass sensitive data to an Amazon ECS container").

The names are grouped by who reads them, each group with its source, so a refusal can say who
would have run what. WSO2 contract variables (docker/*/config-contract.yaml, copied in
chalicelib/spec/rules/contract.py) and the JVM variables whose flags Berth checks one by one
(chalicelib/spec/rules/jvm_flags.py) are the exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.spec.rules.contract import CONTRACTS


@dataclass(frozen=True)
class Interpreter:
    names: frozenset[str]
    prefixes: tuple[str, ...]
    why: str
    """What setting the variable does; `{whose}` is the process it lands in."""

    def reads(self, name: str) -> bool:
        return name in self.names or name.startswith(self.prefixes)


# The JVM reads JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS and _JAVA_OPTIONS before its command line
# (JDK Tool Specifications, `java`: "Using the JDK_JAVA_OPTIONS Launcher Environment Variable"
# and "JAVA_TOOL_OPTIONS"), CLASSPATH when no -classpath is given; WSO2's scripts run $JAVACMD
# and derive the JVM from JAVA_HOME. The dynamic loader reads every LD_ variable (ld.so(8)).
JVM_AND_LOADER = Interpreter(
    frozenset({"CLASSPATH", "JAVACMD"}),
    ("JAVA_", "JDK_", "_JAVA_", "LD_"),
    "loads code into the {whose} process (JVM or dynamic loader); not allowed in a spec",
)
# glibc ignores these in set-uid programs because they load code or write files
# (glibc sysdeps/generic/unsecvars.h, UNSECURE_ENVVARS); GLIBC_TUNABLES and MALLOC_ tune the
# allocator (glibc manual, "Tunables"), a known way into the loader (CVE-2023-4911).
_C_LIBRARY_NAMES = frozenset(
    {
        "GCONV_PATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "NIS_PATH",
        "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR", "GLIBC_TUNABLES",
    }
)  # fmt: skip
C_LIBRARY = Interpreter(
    _C_LIBRARY_NAMES,
    ("MALLOC_",),
    "is read by the C library of every program in the {whose} container as where to load code "
    "or files from; not allowed in a spec",
)
# bash runs $BASH_ENV (and $ENV in POSIX mode) before a non-interactive script, PROMPT_COMMAND
# and PS0-PS4 are expanded (command substitution included), SHELLOPTS/BASHOPTS switch options
# on at start, PATH/CDPATH/IFS/GLOBIGNORE change what a script's words mean
# (GNU Bash Reference Manual, 5.2 "Bash Variables" and 6.2 "Bash Startup Files").
_SHELL_NAMES = frozenset(
    {
        "ENV", "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "SHELLOPTS", "BASHOPTS",
        "PATH", "CDPATH", "IFS", "GLOBIGNORE", "EXECIGNORE", "FUNCNEST", "POSIXLY_CORRECT",
        "HOME", "SHELL", "INPUTRC", "HISTFILE", "TIMEFORMAT",
    }
)  # fmt: skip
SHELL = Interpreter(
    _SHELL_NAMES,
    ("BASH",),
    "is interpreted by bash, which runs the {whose} entrypoint: bash would run or look up "
    "commands of the spec's choosing; not allowed in a spec",
)
# Berth's entrypoints exec "${WORKING_DIRECTORY}/docker-entrypoint.sh" and install files under
# $WSO2_SERVER_HOME (docker/apim/berth-entrypoint.sh, docker/mi/berth-entrypoint.sh); WSO2's
# scripts take CARBON_HOME and USER_HOME as where the product lives (api-manager.sh).
ENTRYPOINT = Interpreter(
    frozenset({"CARBON_HOME", "WORKING_DIRECTORY", "USER_HOME"}),
    ("WSO2_", "BERTH_"),
    "tells the {whose} entrypoint where the program it starts lives; only the variables of the "
    "image's config contract (docker/*/config-contract.yaml) may be set",
)
INTERPRETERS = (JVM_AND_LOADER, C_LIBRARY, SHELL, ENTRYPOINT)

CONTRACT_NAMES = frozenset(v.name for c in CONTRACTS.values() for v in c.variables)
# Checked flag by flag instead (jvm_flags.py).
JVM_VARIABLES = frozenset({"JAVA_OPTS", "JVM_MEM_OPTS", "JAVA_MEM_OPTS"})


def interpreted_problem(name: str, whose: str) -> str | None:
    """Why a spec may not set the variable `name` in the `whose` container, or None."""
    if name in CONTRACT_NAMES or name in JVM_VARIABLES:
        return None
    reader = next((i for i in INTERPRETERS if i.reads(name)), None)
    return reader.why.format(whose=whose) if reader is not None else None
