"""Where each AWS SDK for pandas Lambda layer version was published, to say before a deploy
fails that the functions' layer does not exist in a region.

Source: the "AWS Lambda Managed Layers" table of aws/aws-sdk-pandas,
`docs/source/layers.rst`, as it stood for each version at the commit named in its entry
(https://github.com/aws/aws-sdk-pandas/blob/<commit>/docs/source/layers.rst). For every
version below that table lists a layer for every Python version and both architectures in
every region listed, so a version is the product of its three sets. The table of a version
is replaced by the next release's, so a region added to an old version later would not show
here; the check errs on the side of "not published".
"""

from __future__ import annotations

from dataclasses import dataclass

ARCHITECTURES = frozenset({"x86_64", "arm64"})

_REGIONS_2025 = frozenset({
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
    "ap-southeast-4", "ca-central-1", "cn-north-1", "cn-northwest-1", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2",
    "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1",
    "us-east-2", "us-west-1", "us-west-2",
})
_REGIONS_3_16_0 = _REGIONS_2025 - {"me-south-1"}
_REGIONS_3_16_1 = _REGIONS_3_16_0 | {"ca-west-1"}
_PYTHON_3_9_TO_3_13 = frozenset({"3.9", "3.10", "3.11", "3.12", "3.13"})
_PYTHON_3_10_TO_3_14 = frozenset({"3.10", "3.11", "3.12", "3.13", "3.14"})


@dataclass(frozen=True)
class LayerRelease:
    version: str
    source_commit: str  # of aws/aws-sdk-pandas, whose layers.rst lists this version
    regions: frozenset[str]
    pythons: frozenset[str]
    architectures: frozenset[str] = ARCHITECTURES

    def has_layer(self, region: str, python: str, architecture: str) -> bool:
        return (region in self.regions and python in self.pythons
                and architecture in self.architectures)


RELEASES: dict[str, LayerRelease] = {release.version: release for release in (
    LayerRelease("3.11.0", "469cba5f4637af0dd470a8af1034b42972f0b2a4", _REGIONS_2025,
                 _PYTHON_3_9_TO_3_13),
    LayerRelease("3.12.0", "55d9db42b75b82ed4cc002ad464d020c83b3e38f", _REGIONS_2025,
                 _PYTHON_3_9_TO_3_13),
    LayerRelease("3.12.1", "2634df1bf0c1ac9743940dca144a0f21273995dd", _REGIONS_2025,
                 _PYTHON_3_9_TO_3_13),
    LayerRelease("3.13.0", "e936e84d214ecf37d40c5648e014b0f8192f3061", _REGIONS_2025,
                 _PYTHON_3_9_TO_3_13),
    LayerRelease("3.14.0", "b43432a05f2d1e1688a73c990b3a954cf56c4fad", _REGIONS_2025,
                 _PYTHON_3_9_TO_3_13),
    LayerRelease("3.15.0", "c6a5c6b495930ddb3bf1dc6b66b3499631dac274", _REGIONS_2025,
                 _PYTHON_3_10_TO_3_14),
    LayerRelease("3.15.1", "883a98be6ee3d1679d21f071556f742320ec2327", _REGIONS_2025,
                 _PYTHON_3_10_TO_3_14),
    LayerRelease("3.16.0", "a59ef2e3c6ec98cd72a617e7ebb7b4f943363634", _REGIONS_3_16_0,
                 _PYTHON_3_10_TO_3_14),
    LayerRelease("3.16.1", "7ab4b559b3fd5b1d9b0e05dccaea0c109f460e69", _REGIONS_3_16_1,
                 _PYTHON_3_10_TO_3_14),
    LayerRelease("3.17.0", "f1e4b0186a965a8472e48be29f3b9916799c43ca", _REGIONS_3_16_1,
                 _PYTHON_3_10_TO_3_14),
)}


@dataclass(frozen=True)
class LayerCheck:
    """The answer for one region: `ok`, `missing` (exit 1) or `unknown` (cannot tell)."""

    status: str
    message: str


def check_layer(version: str, runtime: str, architecture: str, region: str) -> LayerCheck:
    """Whether AWS SDK for pandas `version` has a layer for `runtime` (python3.12) on
    `architecture` in `region`, worded for the user."""
    python = runtime.removeprefix("python")
    what = f"AWS SDK for pandas {version} layer for {runtime} {architecture}"
    release = RELEASES.get(version)
    if release is None:
        return LayerCheck("unknown", f"functions.pandas_layer_version {version}: not in "
                          f"etlgen's table of published layers ({', '.join(RELEASES)}), so "
                          f"whether {region} has it cannot be checked")
    if release.has_layer(region, python, architecture):
        return LayerCheck("ok", f"{what}: published in {region}")
    others = [other.version for other in RELEASES.values()
              if other.has_layer(region, python, architecture)]
    hint = (f"versions with one there: {', '.join(others)}" if others
            else "no version in etlgen's table has one there")
    return LayerCheck("missing", f"functions.pandas_layer_version {version}: no {what} in "
                      f"{region} (published in {len(release.regions)} regions, listed in the "
                      f"README; {hint})")
