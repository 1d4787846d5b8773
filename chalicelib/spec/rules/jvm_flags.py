"""The JVM flags a spec may pass to a WSO2 product: an allow-list, because a deny-list of flags
that run code loses the race against every JDK release that adds one.

WSO2's start scripts put the spec's variables on the JVM's command line before their own
options: APIM's `api-manager.sh` runs `java $JVM_MEM_OPTS ... $JAVA_OPTS -D...` (wso2/product-apim,
modules/distribution/product/src/main/startup-scripts/api-manager.sh), and MI's
`micro-integrator.sh` runs `$JAVACMD -Xbootclasspath/a:... $JVM_MEM_OPTS ... $JAVA_OPTS
-Dcom.sun.management.jmxremote ... -Dfile.encoding=UTF8 ...` (wso2/micro-integrator,
distribution/src/scripts/micro-integrator.sh). For a repeated `-D` the last one wins, so the
script's own properties (carbon.home, the keystore paths...) cannot be overridden from here;
what a spec can add is what it gets. The script already passes
`-Dcom.sun.management.jmxremote`; an unauthenticated remote JMX port would let anyone on the
network load classes into the gateway (JDK "Monitoring and Management Using JMX Technology":
the `com.sun.management.jmxremote.*` properties).

What operators set, taken from WSO2's Helm charts (helm-apim `JVM_MEM_OPTS=-Xms2048m -Xmx2048m`,
helm-mi's heap settings) and the JDK's GC tuning guide: heap and stack sizes, boolean and
numeric `-XX:` tuning options (GC choice, container support, percentages, thread counts), GC
logging to the container's output, and a few `-D` keys for time zone, locale, IP stack and DNS
caching.
"""

from __future__ import annotations

import re

MEMORY_SIZE = re.compile(r"-X(ms|mx|ss|mn)\d+[kKmMgG]?")
# `-XX:+Name` / `-XX:-Name` switch a JVM option on or off. The names below are the ones
# operators tune (JDK "HotSpot Virtual Machine Garbage Collection Tuning Guide" and the `java`
# command reference); none of them loads or runs code.
BOOLEAN_OPTIONS = frozenset(
    {
        "UseG1GC", "UseParallelGC", "UseSerialGC", "UseZGC", "ZGenerational",
        "UseShenandoahGC", "UseContainerSupport", "UseStringDeduplication",
        "ExitOnOutOfMemoryError", "CrashOnOutOfMemoryError", "HeapDumpOnOutOfMemoryError",
        "AlwaysPreTouch", "UseCompressedOops", "UseCompressedClassPointers",
        "ParallelRefProcEnabled", "DisableExplicitGC", "ExplicitGCInvokesConcurrent",
        "UseNUMA", "UseTransparentHugePages", "UseLargePages", "PrintCommandLineFlags",
        "ShowCodeDetailsInExceptionMessages", "OmitStackTraceInFastThrow",
        "UseAdaptiveSizePolicy", "TieredCompilation", "UseCodeCacheFlushing",
    }
)  # fmt: skip
# `-XX:Name=<number or size>`: sizes, ratios and counts, never a path or a command.
NUMERIC_OPTIONS = frozenset(
    {
        "MaxRAMPercentage", "InitialRAMPercentage", "MinRAMPercentage", "MaxRAM",
        "MaxMetaspaceSize", "MetaspaceSize", "MaxDirectMemorySize", "ReservedCodeCacheSize",
        "MaxGCPauseMillis", "GCTimeRatio", "ParallelGCThreads", "ConcGCThreads",
        "G1HeapRegionSize", "G1ReservePercent", "InitiatingHeapOccupancyPercent",
        "NewRatio", "SurvivorRatio", "MaxTenuringThreshold", "NewSize", "MaxNewSize",
        "ActiveProcessorCount", "CICompilerCount", "ThreadStackSize", "SoftMaxHeapSize",
        "StringDeduplicationAgeThreshold", "MinHeapFreeRatio", "MaxHeapFreeRatio",
    }
)  # fmt: skip
NUMBER_OR_SIZE = re.compile(r"\d+(\.\d+)?[kKmMgG]?")
# `-D` keys the product reads for behaviour an operator owns per environment. Anything the
# product reads for configuration belongs in deployment.toml (`$env{VAR}` placeholders).
SYSTEM_PROPERTIES = frozenset(
    {
        "user.timezone", "user.language", "user.country", "user.region",
        "java.net.preferIPv4Stack", "java.net.preferIPv6Addresses",
        "sun.net.inetaddr.ttl", "sun.net.inetaddr.negative.ttl",
        "networkaddress.cache.ttl", "portOffset",
    }
)  # fmt: skip
SYSTEM_PROPERTY = re.compile(r"-D([A-Za-z0-9_.]+)(=(.*))?")
# `-Xlog` writes GC and runtime logs; only to the container's own output, never to a file path
# the spec picks (JDK JEP 158, "Unified JVM Logging": `-Xlog:<what>:<output>`).
LOG_TO_OUTPUT = re.compile(r"-Xlog(:[A-Za-z0-9_*+=,]*)?(:(stdout|stderr)(:[A-Za-z0-9_,=]*)*)?")

# Flags that make the JVM load or run code: named with that reason, whatever the list says.
RUNS_CODE = re.compile(
    r"^(-javaagent|-agentpath|-agentlib|-Xrunjdwp|-Xdebug|-XX:[+-]?OnError|"
    r"-XX:[+-]?OnOutOfMemoryError|-Xbootclasspath|-Djava\.system\.class\.loader|-Djdk\.attach|"
    r"-Dcom\.sun\.management|-Djava\.rmi|-XX:[+-]?StartAttachListener|"
    r"-XX:[+-]?EnableDynamicAgentLoading|-XX:[+-]?AllowAttachSelf|-Djava\.security\.manager|"
    r"-Djava\.library\.path|-Djava\.ext\.dirs|-Djava\.endorsed\.dirs|--add-opens|--patch-module"
    r"|--module-path|-cp$|-classpath|--class-path)"
)
_EXPLAINED = {
    "-Dsetup": "-Dsetup runs WSO2's database scripts against the datasource at start; Berth's "
    "schema task does that once per environment (schemaInit in the spec)",
    "-DosgiConsole": "-DosgiConsole opens the OSGi console, a shell into the running product",
    "-XX:HeapDumpPath": "-XX:HeapDumpPath writes heap dumps (secrets in memory) to a path the "
    "spec picks; dumps go to the task's own storage by default",
    "-Xlog": "-Xlog may only write to stdout or stderr, where ECS collects the container's logs",
}

ALLOWED_SUMMARY = (
    "heap and stack sizes (-Xms, -Xmx, -Xss, -Xmn), -XX: GC and container tuning options, "
    "-Xlog to stdout/stderr, and -D" + ", -D".join(sorted(SYSTEM_PROPERTIES))
)


def _allowed(flag: str) -> bool:
    if MEMORY_SIZE.fullmatch(flag) or LOG_TO_OUTPUT.fullmatch(flag):
        return True
    if flag.startswith("-XX:+") or flag.startswith("-XX:-"):
        return flag[5:] in BOOLEAN_OPTIONS
    if flag.startswith("-XX:") and "=" in flag:
        name, _, value = flag[4:].partition("=")
        return name in NUMERIC_OPTIONS and NUMBER_OR_SIZE.fullmatch(value) is not None
    prop = SYSTEM_PROPERTY.fullmatch(flag)
    return prop is not None and prop.group(1) in SYSTEM_PROPERTIES


def flag_problem(variable: str, value: str) -> str | None:
    """Why `value` of the JVM variable `variable` may not reach the JVM, or None."""
    for flag in value.split():
        runs = RUNS_CODE.match(flag)
        if runs is not None:
            return f"{runs.group(0)} makes the JVM run code of the spec's choosing; not allowed"
        if _allowed(flag):
            continue
        explained = next((why for p, why in _EXPLAINED.items() if flag.startswith(p)), None)
        if explained is not None:
            return f"{flag} in {variable}: {explained}; not allowed"
        return (
            f"{flag} in {variable} is not on the list of JVM flags a spec may set "
            f"({ALLOWED_SUMMARY}); product settings go in deployment.toml through the image's "
            "config contract"
        )
    return None
