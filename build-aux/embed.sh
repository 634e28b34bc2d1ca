#!/bin/sh
# Usage: embed.sh SYMBOL FILE > out.c
# Emits FILE as a C byte array (NUL-terminated) plus its length.
set -e
sym=$1
file=$2
echo "/* Generated from $(basename "$file") by build-aux/embed.sh; do not edit. */"
echo "#include <stddef.h>"
echo "const char ${sym}[] = {"
od -An -v -tx1 "$file" | sed -e 's/  */ /g' -e 's/^ //' -e '/^$/d' -e 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0x00 };"
echo "const size_t ${sym}_len = sizeof(${sym}) - 1;"
