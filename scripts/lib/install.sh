# Shared install code (sourced by scripts/test-all.sh and scripts/demo.sh): Debian packages
# and cargo tools that are missing are installed, unless KRS_SKIP_INSTALL=1 (then the caller
# is told what to install and stops).
#
#   krs_install_debs PKG...          apt-get install the missing ones
#   krs_install_cargo TOOL CRATE     cargo install --locked CRATE if `TOOL` is not on PATH

krs_install_die() { printf '%s: %s\n' "${KRS_INSTALL_WHO:-install}" "$*" >&2; exit 2; }

krs_install_debs() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && krs_install_die "missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})"
    [ "$(id -u)" = 0 ] || krs_install_die "missing Debian packages: ${missing[*]}; run as root to install them"
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq || krs_install_die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || krs_install_die "apt-get install ${missing[*]} failed"
}

krs_install_cargo() { # tool crate
    command -v "$1" >/dev/null && return 0
    [ "${KRS_SKIP_INSTALL:-0}" = 1 ] && krs_install_die "$1 missing (cargo install $2 --locked)"
    cargo install "$2" --locked || krs_install_die "cargo install $2 failed"
}
