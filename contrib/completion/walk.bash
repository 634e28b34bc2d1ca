# Does option $2 of command path $1 take the next word as its argument?
_hutch_takes() {
        local w=$2 a j c
        a=" $(_hutch_argopts "$1") "
        if [[ $w == --* ]]; then
                [[ $a == *" $w "* ]]
                return
        fi
        for ((j = 1; j < ${#w}; j++)); do
                c=-${w:j:1}
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

# Adds the words of kind $1 that start with $2 to COMPREPLY.
_hutch_offer() {
        local kind=$1 cur=$2
        case $kind in
        @file)
                compopt -o filenames 2>/dev/null
                mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
                ;;
        @container | @running | @image | @volume)
                mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$(_hutch_list "${kind#@}")" -- "$cur")
                ;;
        @ctrimage)
                _hutch_offer @container "$cur"
                _hutch_offer @image "$cur"
                ;;
        @cpsrc)
                compopt -o nospace 2>/dev/null
                [[ $cur == *:* ]] && return
                mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$(_hutch_list container | sed 's/$/:/')" -- "$cur")
                _hutch_offer @file "$cur"
                ;;
        =*)
                kind=${kind#=}
                mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "${kind//,/ }" -- "$cur")
                ;;
        esac
}

_hutch() {
        local line=${COMP_LINE:0:COMP_POINT} cur n i w cpath="" pos=0 kind="" pre="" subs colon
        local -a words kinds
        read -ra words <<<"$line"
        if [[ ${#words[@]} -eq 0 || $line == *[[:space:]] ]]; then
                words+=("")
        fi
        n=$((${#words[@]} - 1))
        cur=${words[n]}
        _hutch_bin=${words[0]}
        _hutch_g=()
        COMPREPLY=()
        # Walk the words before the cursor: global options (kept for the
        # lists), commands, the command's options, then its arguments
        # (options stop at the first argument, as in hutch's getopt).
        for ((i = 1; i < n; i++)); do
                w=${words[i]}
                if ((pos == 0)) && [[ $w == -?* ]]; then
                        if [[ $w != --*=* ]] && _hutch_takes "$cpath" "$w"; then
                                if ((i + 1 == n)); then
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
                        pre=${cur%%=*}=
                        cur=${cur#*=}
                elif ((pos == 0)) && [[ $cur == -* ]]; then
                        mapfile -t COMPREPLY < <(compgen -W "$(_hutch_opts "$cpath")" -- "$cur")
                        return 0
                elif ((pos == 0)) && [[ -n $subs ]]; then
                        mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
                        return 0
                else
                        read -ra kinds <<<"$(_hutch_pos "$cpath")"
                        ((pos < ${#kinds[@]})) || pos=$((${#kinds[@]} - 1))
                        kind=${kinds[pos]}
                fi
        fi
        _hutch_offer "$kind" "$cur"
        # bash replaces only what follows the last of COMP_WORDBREAKS (: and
        # = by default) in the word being completed.
        if [[ -n $pre && $COMP_WORDBREAKS != *=* ]]; then
                COMPREPLY=("${COMPREPLY[@]/#/$pre}")
        fi
        if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
                colon=${cur%"${cur##*:}"}
                COMPREPLY=("${COMPREPLY[@]#"$colon"}")
        fi
        return 0
}

complete -F _hutch hutch
