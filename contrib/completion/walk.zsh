# Does option $2 of command path $1 take the next word as its argument?
_hutch_takes() {
        local w=$2 a j c
        a=" $(_hutch_argopts "$1") "
        if [[ $w == --* ]]; then
                [[ $a == *" $w "* ]]
                return
        fi
        for ((j = 1; j < ${#w}; j++)); do
                c=-${w:$j:1}
                if [[ $a == *" $c "* ]]; then
                        ((j == ${#w} - 1))
                        return
                fi
        done
        return 1
}

# Names from the store of the command line being completed.
_hutch_list() {
        case $1 in
        container) "$_hutch_bin" "${_hutch_g[@]}" ps -a --format '{{.Names}}' ;;
        running) "$_hutch_bin" "${_hutch_g[@]}" ps --format '{{.Names}}' ;;
        image) "$_hutch_bin" "${_hutch_g[@]}" images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' ;;
        volume) "$_hutch_bin" "${_hutch_g[@]}" volume ls -q ;;
        esac 2>/dev/null
}

_hutch_offer() {
        local kind=$1
        local -a cands
        case $kind in
        @file) _files ;;
        @container | @running | @image | @volume)
                cands=(${(f)"$(_hutch_list ${kind#@})"})
                compadd -- $cands
                ;;
        @ctrimage)
                _hutch_offer @container
                _hutch_offer @image
                ;;
        @cpsrc)
                cands=(${(f)"$(_hutch_list container)"})
                compadd -S '' -- ${^cands}:
                _files
                ;;
        '='*) compadd -- ${(s:,:)kind#=} ;;
        esac
}

_hutch() {
        local cur i w cpath="" pos=0 kind="" subs
        local -a kinds
        typeset -ga _hutch_g
        typeset -g _hutch_bin=${words[1]}
        _hutch_g=()
        cur=${words[CURRENT]}
        # Walk the words before the cursor: global options (kept for the
        # lists), commands, the command's options, then its arguments
        # (options stop at the first argument, as in hutch's getopt).
        for ((i = 2; i < CURRENT; i++)); do
                w=${words[i]}
                if ((pos == 0)) && [[ $w == -?* ]]; then
                        if [[ $w != --*=* ]] && _hutch_takes "$cpath" "$w"; then
                                if ((i + 1 == CURRENT)); then
                                        kind=$(_hutch_vals "$cpath|$w")
                                        break
                                fi
                                [[ -z $cpath ]] && _hutch_g+=("$w" "${words[i + 1]}")
                                i=$((i + 1))
                        elif [[ -z $cpath ]]; then
                                _hutch_g+=("$w")
                        fi
                        continue
                fi
                if ((pos == 0)) && [[ " $(_hutch_subs "$cpath") " == *" $w "* ]]; then
                        cpath=${cpath:+$cpath }$w
                else
                        pos=$((pos + 1))
                fi
        done
        if [[ -z $kind ]]; then
                subs=$(_hutch_subs "$cpath")
                if ((pos == 0)) && [[ $cur == --*=* ]]; then
                        kind=$(_hutch_vals "$cpath|${cur%%=*}")
                        compset -P '*='
                elif ((pos == 0)) && [[ $cur == -* ]]; then
                        compadd -- ${=$(_hutch_opts "$cpath")}
                        return
                elif ((pos == 0)) && [[ -n $subs ]]; then
                        compadd -- ${=subs}
                        return
                else
                        kinds=(${=$(_hutch_pos "$cpath")})
                        ((pos < ${#kinds})) || pos=$((${#kinds} - 1))
                        kind=${kinds[pos + 1]}
                fi
        fi
        _hutch_offer "$kind"
}

if [[ $funcstack[1] == _hutch ]]; then
        _hutch "$@"
else
        compdef _hutch hutch
fi
