#!/bin/sh
# Install this EventDeck bundle for the current user (no root needed):
#   the program     ~/.local/opt/EventDeck/ (a copy of this folder)
#   the command     ~/.local/bin/eventdeck (a link, unless another eventdeck is there)
#   the menu entry  ~/.local/share/applications/eventdeck.desktop, Exec set to the absolute path
#   the icon        ~/.local/share/icons/hicolor/{scalable,256x256}/apps/eventdeck.{svg,png}
#   AppStream       ~/.local/share/metainfo/io.eventdeck.EventDeck.metainfo.xml
# ./install.sh --uninstall removes all of them again. build-bundle copies this file into the bundle.
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
target="$HOME/.local/opt/EventDeck"
bin="$HOME/.local/bin"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
desktop="$data/applications/eventdeck.desktop"
svg="$data/icons/hicolor/scalable/apps/eventdeck.svg"
png="$data/icons/hicolor/256x256/apps/eventdeck.png"
metainfo="$data/metainfo/io.eventdeck.EventDeck.metainfo.xml"

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

# A folder this script may replace or remove: an EventDeck bundle, nothing else.
is_bundle() {
    [ -x "$1/eventdeck" ] && [ -d "$1/_internal" ]
}

links_to_us() {
    [ -L "$bin/eventdeck" ] && [ "$(readlink "$bin/eventdeck")" = "$target/eventdeck" ]
}

refresh_caches() {  # harmless where the tools are missing; most desktops notice on their own
    update-desktop-database "$data/applications" 2>/dev/null || true
    gtk-update-icon-cache -f -t "$data/icons/hicolor" 2>/dev/null || true
}

case "${1:-}" in
--uninstall)
    if [ -e "$target" ] && ! is_bundle "$target"; then
        fail "$target is not an EventDeck bundle; left it alone"
    fi
    rm -rf "$target"
    rm -f "$desktop" "$svg" "$png" "$metainfo"
    if links_to_us; then rm -f "$bin/eventdeck"; fi
    refresh_caches
    echo "EventDeck is uninstalled."
    exit 0
    ;;
"") ;;
*)
    echo "usage: install.sh [--uninstall]" >&2
    exit 2
    ;;
esac

is_bundle "$here" || fail "run the install.sh inside the EventDeck bundle folder (no eventdeck binary beside $0)"
case "$target" in
*[\"\`\$\\%\|\&]*) fail "cannot write a desktop entry for $target: the path holds one of \" \` \$ \\ % | &" ;;
esac

if [ "$here" != "$target" ]; then
    if [ -e "$target" ] && ! is_bundle "$target"; then
        fail "$target exists and is not an EventDeck bundle; move it away first"
    fi
    mkdir -p "$(dirname "$target")"
    rm -rf "$target.new"
    cp -R "$here" "$target.new"  # copy first, so a failed copy leaves the installed version working
    rm -rf "$target"
    mv "$target.new" "$target"
fi

mkdir -p "$(dirname "$desktop")" "$(dirname "$svg")" "$(dirname "$png")" "$(dirname "$metainfo")" "$bin"
sed -e "s|^Exec=.*|Exec=\"$target/eventdeck\"|" -e "s|^TryExec=.*|TryExec=$target/eventdeck|" \
    "$target/share/applications/eventdeck.desktop" >"$desktop"
cp "$target/share/icons/hicolor/scalable/apps/eventdeck.svg" "$svg"
cp "$target/share/icons/hicolor/256x256/apps/eventdeck.png" "$png"
cp "$target/share/metainfo/io.eventdeck.EventDeck.metainfo.xml" "$metainfo"
if [ ! -e "$bin/eventdeck" ] || links_to_us; then
    ln -sf "$target/eventdeck" "$bin/eventdeck"
    command_note="'eventdeck' in a terminal ($bin must be on your PATH)"
else
    command_note="$target/eventdeck ($bin/eventdeck is another EventDeck; left it alone)"
fi
refresh_caches
echo "EventDeck is installed in $target. Start it from the menu, or run $command_note."
echo "To remove it: $target/install.sh --uninstall"
