# Sourced by scripts/test.sh and scripts/postgres.sh (not run on its own):
#
#   apt_install_missing WHY PACKAGE...
#
# installs the Debian packages among PACKAGE... that are not installed yet, with
# apt-get as root or through sudo (non-interactive when there is no terminal).
# WHY says what they are for; it ends every warning. Returns 0 when all are
# installed afterwards, 1 otherwise (no apt-get, not root and no usable sudo, or
# apt-get failed), after printing what to run by hand. Never exits the caller.

apt_is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install_missing() {
  local why="$1" missing=() pkg
  shift
  for pkg in "$@"; do
    apt_is_installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" = 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    printf '==> WARNING: cannot install %s: no apt-get on this machine. Install them by hand; %s.\n' \
      "${missing[*]}" "$why"
    return 1
  fi
  local sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
      sudo=(sudo)
    else
      printf '==> WARNING: cannot install %s: not root and no usable sudo.\n' "${missing[*]}"
      echo "    Run as root:  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
      echo "    ($why)"
      return 1
    fi
  fi
  printf '==> installing Debian packages: %s\n' "${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get update -qq; then
    echo "==> WARNING: apt-get update failed; trying the install with the package lists as they are"
  fi
  if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null; then
    printf '==> WARNING: apt-get install %s failed (see above); %s.\n' "${missing[*]}" "$why"
    return 1
  fi
  return 0
}
