# Does option $argv[2] of command path $argv[1] take the next word as its argument?
function __hutch_takes
        set -l a (string split ' ' -- (__hutch_argopts $argv[1]))
        set -l w $argv[2]
        if string match -q -- '--*' $w
                contains -- $w $a
                return
        end
        set -l len (string length -- $w)
        for j in (seq 2 $len)
                if contains -- -(string sub -s $j -l 1 -- $w) $a
                        test $j -eq $len
                        return
                end
        end
        return 1
end

# Names from the store of the command line being completed.
function __hutch_list
        switch $argv[1]
        case container
                $__hutch_bin $__hutch_g ps -a --format '{{.Names}}' 2>/dev/null
        case running
                $__hutch_bin $__hutch_g ps --format '{{.Names}}' 2>/dev/null
        case image
                $__hutch_bin $__hutch_g images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*'
        case volume
                $__hutch_bin $__hutch_g volume ls -q 2>/dev/null
        end
end

function __hutch_offer
        set -l kind $argv[1]
        switch $kind
        case @file
                __fish_complete_path $argv[2]
        case @container @running @image @volume
                __hutch_list (string sub -s 2 -- $kind)
        case @ctrimage
                __hutch_list container
                __hutch_list image
        case @cpsrc
                __hutch_list container | string replace -r '$' ':'
                __fish_complete_path $argv[2]
        case '=*'
                string split , -- (string sub -s 2 -- $kind)
        end
end

function __hutch_complete
        set -l toks (commandline -opc)
        set -l cur (commandline -ct)
        set -g __hutch_bin $toks[1]
        set -g __hutch_g
        set -l cpath ''
        set -l pos 0
        set -l kind ''
        set -l pre ''
        set -l n (count $toks)
        set -l i 2
        # Walk the words before the cursor: global options (kept for the
        # lists), commands, the command's options, then its arguments
        # (options stop at the first argument, as in hutch's getopt).
        while test $i -le $n
                set -l w $toks[$i]
                if test $pos -eq 0; and string match -q -- '-?*' $w
                        if not string match -q -- '--*=*' $w; and __hutch_takes "$cpath" $w
                                if test $i -eq $n
                                        set kind (__hutch_vals "$cpath|$w")
                                        break
                                end
                                if test -z "$cpath"
                                        set -a __hutch_g $w $toks[(math $i + 1)]
                                end
                                set i (math $i + 1)
                        else if test -z "$cpath"
                                set -a __hutch_g $w
                        end
                else if test $pos -eq 0; and contains -- $w (string split ' ' -- (__hutch_subs "$cpath"))
                        set cpath (string trim -- "$cpath $w")
                else
                        set pos (math $pos + 1)
                end
                set i (math $i + 1)
        end
        if test -z "$kind"
                set -l subs (__hutch_subs "$cpath")
                if test $pos -eq 0; and string match -q -- '--*=*' $cur
                        set pre (string replace -r '=.*' '=' -- $cur)
                        set kind (__hutch_vals "$cpath|"(string replace -r '=.*' '' -- $cur))
                        set cur (string replace -r '^[^=]*=' '' -- $cur)
                else if test $pos -eq 0; and string match -q -- '-*' $cur
                        string split ' ' -- (__hutch_opts "$cpath")
                        return
                else if test $pos -eq 0; and test -n "$subs"
                        string split ' ' -- $subs
                        return
                else
                        set -l kinds (string split ' ' -- (__hutch_pos "$cpath"))
                        set -l k (math $pos + 1)
                        if test $k -gt (count $kinds)
                                set k (count $kinds)
                        end
                        set kind $kinds[$k]
                end
        end
        for c in (__hutch_offer $kind $cur)
                echo $pre$c
        end
end

complete -c hutch -f -a '(__hutch_complete)'
