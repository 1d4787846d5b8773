"""docker/build.py decisions in dry run, buildspec.yml's structure, Dockerfiles against presets."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest
import yaml

from chalicelib.wso2.presets import PRESETS
from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("berth_build", ROOT / "docker" / "build.py")
assert _spec and _spec.loader
build = importlib.util.module_from_spec(_spec)
sys.modules["berth_build"] = build
_spec.loader.exec_module(build)

ENV = {
    "AWS_ACCOUNT_ID": "111122223333",
    "AWS_REGION": "eu-west-1",
    "CODEBUILD_BUILD_NUMBER": "12",
    "CODEBUILD_RESOLVED_SOURCE_VERSION": "a1b2c3d4e5f60718",
    "CODEBUILD_SOURCE_REPO_URL": "https://git.example.com/berth.git",
}


def dry_run(capsys, *args, env=ENV):
    code = build.run(["--dry-run", *args], env)
    out, err = capsys.readouterr()
    return code, [line.removeprefix("+ ") for line in out.splitlines()], err


def test_dry_run_builds_apim_then_mi_and_never_ei_by_default(capsys):
    # MI registers with APIM's service catalog at start, so APIM goes first; EI 6.6 is opt-in
    # (only a GA or subscription image still provides it: a missing one must not block APIM/MI).
    for products in ("all", "apim mi ei"):
        code, commands, _ = dry_run(capsys, "--products", products)
        assert code == 0
        tags = [c.split("--tag ")[1].split()[0] for c in commands]
        assert tags[:2] == [
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/wso2am:4.7.0-12-a1b2c3d",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/wso2mi:4.4.0-12-a1b2c3d",
        ]
        assert not any(":latest" in c for c in commands)
    assert len(tags) == 3 and tags[2].endswith("/wso2ei:6.6.0-12-a1b2c3d")
    _, commands, _ = dry_run(capsys)  # the default is all: the products, then keystore-init
    assert ["wso2ei" in c for c in commands] == [False, False, False]
    assert "/berth-keystore-init:1.0.0-12-a1b2c3d " in commands[2]


def test_ei_is_built_only_when_named(capsys):
    _, [command], _ = dry_run(capsys, "--products", "ei")
    assert "--build-arg WSO2_BASE_IMAGE=wso2/wso2ei-integrator:6.6.0" in command


def test_labels_come_from_build_args_and_the_cache_from_ecr(capsys):
    _, [command], _ = dry_run(capsys, "--products", "apim")
    assert "--build-arg BUILD_VERSION=4.7.0-12-a1b2c3d" in command
    assert "--build-arg BUILD_REVISION=a1b2c3d4e5f60718" in command
    assert "--build-arg BUILD_SOURCE=https://git.example.com/berth.git" in command
    assert (
        "--cache-from type=registry,ref=111122223333.dkr.ecr.eu-west-1.amazonaws.com/berth-build-cache:apim"
        in command
    )
    assert command.endswith("--push " + str(ROOT / "docker" / "apim"))
    assert "JDBC_DRIVER_URL" not in command and "JDBC_DRIVER_SHA256" not in command


def test_a_jdbc_driver_needs_its_checksum(capsys):
    env = dict(ENV, JDBC_DRIVER_URL="https://repo.example.com/driver.jar")
    code, commands, err = dry_run(capsys, env=env)
    assert (code, commands, err) == (
        2,
        [],
        "build: JDBC_DRIVER_URL is set but JDBC_DRIVER_SHA256 is not a sha256 hex digest\n",
    )
    env["JDBC_DRIVER_SHA256"] = "e" * 64
    _, commands, _ = dry_run(capsys, "--products", "mi", env=env)
    # After the pinned drivers, as one more `file sha256 url` triple.
    assert f"driver.jar {'e' * 64} https://repo.example.com/driver.jar'" in commands[0]


def test_missing_variables_are_named_in_a_real_build(capsys):
    code = build.run(["--products", "apim"], {"AWS_REGION": "eu-west-1"})
    assert (code, capsys.readouterr().err) == (
        2,
        "build: missing environment variables: AWS_ACCOUNT_ID, CODEBUILD_BUILD_NUMBER, "
        "CODEBUILD_RESOLVED_SOURCE_VERSION\n",
    )


def test_a_dry_run_needs_no_aws_variables_and_shows_placeholders(capsys):
    # Issue 19: `python3 docker/build.py --dry-run`, as the README shows it, exited 2.
    code, commands, err = dry_run(capsys, env={})
    assert code == 0 and len(commands) == 3
    assert (
        "--tag '<AWS_ACCOUNT_ID>.dkr.ecr.<AWS_REGION>.amazonaws.com/wso2am:"
        "4.7.0-<CODEBUILD_BUILD_NUMBER>-<CODEBUILD_RESOLVED_SOURCE_VERSION>'" in commands[0]
    )
    assert err == (
        "build: dry run without AWS_ACCOUNT_ID, AWS_REGION, CODEBUILD_BUILD_NUMBER, "
        "CODEBUILD_RESOLVED_SOURCE_VERSION: shown as placeholders\n"
    )


def test_one_failed_build_does_not_stop_the_others(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(build, "OUT", tmp_path)
    ran = []

    def fake_run(command, check):
        product = command[-1].rsplit("/", 1)[-1]
        ran.append(product)
        if product == "apim":
            raise build.subprocess.CalledProcessError(1, ["docker", "buildx", "build"])
        digest = "sha256:" + "a" * 64
        (tmp_path / f"{product}.metadata.json").write_text(
            build.json.dumps({"containerimage.digest": digest})
        )

    monkeypatch.setattr(build.subprocess, "run", fake_run)
    # Only the driver whose sha256 is pinned: an unpinned one fails a real build (test_drivers.py).
    code = build.run(["--products", "apim mi ei"], dict(ENV, JDBC_DRIVERS="postgresql"))
    err = capsys.readouterr().err
    assert code == 1 and ran == ["apim", "mi", "ei"]
    assert sorted(p.name for p in tmp_path.glob("imageDetail-*.json")) == [
        "imageDetail-ei.json",
        "imageDetail-mi.json",
    ]
    assert err.splitlines()[-1] == "build: 1 of 3 images failed (apim); built: mi, ei"


def test_without_subscription_credentials_the_docker_hub_ga_image_is_used(capsys):
    _, [command], _ = dry_run(capsys, "--products", "apim")
    assert "--build-arg WSO2_BASE_IMAGE=wso2/wso2am:4.7.0" in command
    assert "--build-arg WSO2_IMAGE_SOURCE=docker-hub-ga" in command


def test_subscription_credentials_build_from_wso2s_registry_at_an_update_level(capsys):
    env = dict(ENV, WSO2_REGISTRY_USER="ops@example.com", WSO2_APIM_UPDATE_LEVEL="12")
    _, [command], _ = dry_run(capsys, "--products", "apim", env=env)
    assert "--build-arg WSO2_BASE_IMAGE=docker.wso2.com/wso2am:4.7.0.12" in command
    assert "--build-arg WSO2_IMAGE_SOURCE=wso2-subscription" in command
    # A dry run without the level shows it as a placeholder; a real build refuses that product.
    env = dict(ENV, WSO2_REGISTRY_USER="ops@example.com")
    _, [command], _ = dry_run(capsys, "--products", "mi", env=env)
    assert (
        "--build-arg 'WSO2_BASE_IMAGE=docker.wso2.com/wso2mi:4.4.0.<WSO2_MI_UPDATE_LEVEL>'"
        in command
    )
    code = build.run(["--products", "mi"], env)
    err = capsys.readouterr().err
    assert code == 1
    assert "mi: WSO2 subscription credentials are given but WSO2_MI_UPDATE_LEVEL is not" in err


WSO2_PRODUCTS = [name for name, product in build.PRODUCTS.items() if product.wso2]


@pytest.mark.parametrize("name", WSO2_PRODUCTS)
def test_the_image_says_where_its_wso2_base_came_from(name):
    text = _dockerfile(name)
    assert "FROM ${WSO2_BASE_IMAGE}\n" in text
    assert f"ARG WSO2_BASE_IMAGE=wso2/{build.PRODUCTS[name].wso2_image}:${{WSO2_VERSION}}\n" in text
    assert 'org.opencontainers.image.base.name="${WSO2_BASE_IMAGE}"' in text
    assert 'berth.wso2.image-source="${WSO2_IMAGE_SOURCE}"' in text


def test_unknown_product_is_refused(capsys):
    code, _, err = dry_run(capsys, "--products", "apim esb")
    assert code == 2 and "unknown products ['esb']" in err


def test_only_changed_products_are_built():
    assert build.changed_products(["docker/mi/config/conf/deployment.toml", "README.md"]) == ["mi"]
    assert build.changed_products(["docker/mi/Dockerfile", "docker/apim/Dockerfile"]) == [
        "apim",
        "mi",
    ]
    # EI 6.6 is built only when named, even when its own files change.
    assert build.changed_products(["docker/ei/Dockerfile"]) == []
    assert build.changed_products(["buildspec.yml"]) == ["apim", "mi", "keystore-init"]
    assert build.changed_products(["docker/keystore-init/keystore-init.sh"]) == ["keystore-init"]
    assert build.changed_products(["chalicelib/rendering/task_definition.py"]) == []


def test_a_push_without_a_digest_fails():
    env = build.BuildEnv.from_environment(ENV)
    with pytest.raises(build.BuildError, match="the push reported no image digest"):
        build.image_detail(build.PRODUCTS["apim"], env, {})
    detail = build.image_detail(
        build.PRODUCTS["apim"], env, {"containerimage.digest": "sha256:" + "f" * 64}
    )
    assert (
        detail["ImageURI"]
        == f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/wso2am@sha256:{'f' * 64}"
    )


def test_buildspec_structure():
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    assert set(spec["phases"]) == {"install", "pre_build", "build"}
    assert any("docker/build.py" in c for c in spec["phases"]["build"]["commands"])
    assert spec["phases"]["build"]["on-failure"] == "ABORT"
    assert any("ecr get-login-password" in c for c in spec["phases"]["pre_build"]["commands"])
    assert spec["artifacts"]["files"] == ["out/imageDetail-*.json"]
    assert "123456789012" not in (ROOT / "buildspec.yml").read_text()


def test_buildspec_logs_in_to_wso2s_registry_only_with_credentials():
    spec = yaml.safe_load((ROOT / "buildspec.yml").read_text())
    # Optional credentials: a secrets-manager entry whose secret is missing fails every build.
    assert "secrets-manager" not in spec["env"]
    [login] = [c for c in spec["phases"]["pre_build"]["commands"] if "docker.wso2.com" in c]
    assert login.startswith('if [ -n "${WSO2_REGISTRY_USER:-}" ]; then')
    assert "--password-stdin docker.wso2.com" in login and "else" in login
    variables = spec["env"]["variables"]
    assert {build.level_variable(n) for n in WSO2_PRODUCTS} <= set(variables)
    assert "ei" not in variables["PRODUCTS"]


def _dockerfile(product: str) -> str:
    return (ROOT / "docker" / product / "Dockerfile").read_text()


@pytest.mark.parametrize("name", WSO2_PRODUCTS)
def test_dockerfile_agrees_with_the_renderer_preset(name):
    product = build.PRODUCTS[name]
    preset = PRESETS[product.preset]
    text = _dockerfile(name)
    exposed = [int(p) for p in re.search(r"^EXPOSE (.+)$", text, re.M).group(1).split()]
    assert exposed == list(preset.ports)
    check = re.search(
        r"HEALTHCHECK --interval=(\d+)s --timeout=(\d+)s --start-period=(\d+)s --retries=(\d+) \\\n"
        r'  CMD \["/bin/sh", "-c", "(.+)"\]',
        text,
    )
    hc = preset.health_check
    assert check is not None and hc is not None
    assert tuple(int(v) for v in check.groups()[:4]) == (
        hc.interval,
        hc.timeout,
        hc.start_period,
        hc.retries,
    )
    assert check.group(5) == hc.command[1]
    assert re.search(r"^USER (\d+)$", text, re.M).group(1) == str(preset.uid)
    assert f"ARG WSO2_VERSION={product.version}\n" in text
    assert preset.home.endswith(f"-{product.version}")


def test_keystore_init_is_built_from_its_own_dockerfile_without_wso2_inputs(capsys):
    env = {**ENV, "WSO2_REGISTRY_USER": "me", "JDBC_DRIVER_URL": "https://example.com/d.jar",
           "JDBC_DRIVER_SHA256": "a" * 64}  # fmt: skip
    # Subscription credentials need no update level for it, and no JDBC driver goes in.
    code, [command], _ = dry_run(capsys, "--products", "keystore-init", env=env)
    assert code == 0
    assert "WSO2_" not in command and "JDBC_" not in command
    assert "--build-arg BUILD_VERSION=1.0.0-12-a1b2c3d" in command
    assert "--tag 111122223333.dkr.ecr.eu-west-1.amazonaws.com/berth-keystore-init:1.0.0-12-a1b2c3d" in command
    assert command.endswith(str(ROOT / "docker" / "keystore-init"))
    text = _dockerfile("keystore-init")
    assert 'ENTRYPOINT ["/usr/local/bin/keystore-init"]' in text
    assert "COPY --chmod=0755 keystore-init.sh /usr/local/bin/keystore-init" in text


def test_every_image_built_is_one_whose_pushes_reach_berth():
    from chalicelib.values import triggers

    assert {p.repository for p in build.PRODUCTS.values()} == set(triggers.IMAGE_REPOSITORIES)


def test_the_lambda_wheels_are_fetched_for_the_runtimes_python_not_this_one():
    from berth.chalice_package import wheel_download_arguments

    assert wheel_download_arguments("cp314", "pydantic-core==2.50.5", "/w", ["manylinux2014_x86_64"]) == [
        "--only-binary=:all:", "--no-deps", "--platform", "manylinux2014_x86_64",
        "--implementation", "cp", "--abi", "cp314", "--python-version", "3.14",
        "--dest", "/w", "pydantic-core==2.50.5",
    ]  # fmt: skip
