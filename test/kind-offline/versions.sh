# Pinned versions for the offline kind setup (sourced by the scripts here).
#
# kind v0.30.0 is the last kind release whose CI still covered cgroup v1
# hosts; this machine is cgroup v1. Kubernetes 1.35 refuses cgroup v1 by
# default (failCgroupV1), so the node stays on 1.34.x, the line kind v0.30.0
# was released with.
KIND_VERSION=${KIND_VERSION:-v0.30.0}
K8S_VERSION=${K8S_VERSION:-v1.34.4}
# etcd, CoreDNS and pause versions are NOT pinned here: they are read from
# `kubeadm config images list` of the kubeadm we build, so the images carry
# exactly the tags kubeadm will ask for.
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
NODE_IMAGE_REPO=${NODE_IMAGE_REPO:-labgrader/kind-node}
APP_IMAGE=${APP_IMAGE:-ghcr.io/labgrader-examples/lab85-web:1.0.0}
# The default CNI's NetworkPolicy engine: sigs.k8s.io/kube-network-policies,
# built from its Go module (`go install .../cmd@version`; no replaces). v0.8.0
# is the newest the module proxy serves. It runs in the default CNI's image,
# with our agent (cni/labgrader-cni) and kubectl.
KNP_VERSION=${KNP_VERSION:-v0.8.0}
CNI_IMAGE=${CNI_IMAGE:-labgrader/kind-cni:$KNP_VERSION}
