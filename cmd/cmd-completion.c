/* hutch completion bash|zsh|fish: see completion.h.  The generated part of
 * a script is its tables; the part that walks the command line is the same
 * for every table and lives in contrib/completion/walk.SHELL, compiled in. */
#include "config.h"

#include "cmd/completion.h"
#include "lib/cleanup.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* contrib/completion/walk.{bash,zsh,fish}, embedded by build-aux/embed.sh */
extern const char hutch_completion_walk_bash[], hutch_completion_walk_zsh[], hutch_completion_walk_fish[];

const struct cmd_command *cmd_completion_root;

/* The fixed sets of option values hutch accepts, and the options whose
 * argument is a host path or a container path although their placeholder
 * says otherwise: the one place to change when a parser learns a value.
 * paths: comma-separated command paths ("" is hutch's global options; a
 * "container X" path also matches "X"). */
#define RUN_PATHS "run,create"
static const struct {
        const char *paths;
        const char *option;
        const char *kind;
} value_sets[] = {
        { "", "log-level", "=error,warn,info,debug,trace" }, /* lib/log.c */
        { "", "log-format", "=text,json" },
        { "", "storage-driver", "=overlay,fuse-overlayfs,copy" }, /* main.c, paths.c */
        { RUN_PATHS, "network", "=slirp,none,host,container:" },  /* cmd/network.c */
        { RUN_PATHS, "net", "=slirp,none,host,container:" },
        { RUN_PATHS, "restart", "=no,on-failure,always,unless-stopped" },
        { RUN_PATHS, "pull", "=missing,always,newer,never" },
        { RUN_PATHS, "userns", "=host,keep-id" },
        { RUN_PATHS, "volume", "@file" },          /* SRC:DST: the host side first */
        { RUN_PATHS ",exec", "workdir", "@none" }, /* a path inside the container */
        { "inspect", "type", "=container,image" },
        { "pull,push,login,manifest inspect", "tls-verify", "=true,false" }, /* --tls-verify=BOOL */
        { "ps,container ls,container ps,images,image ls,image list,volume ls,volume list", "format", "=json,table" },
        { "info,version,diff,history,image history,image inspect", "format", "=json" },
        { "load,save,image load,image save", "format", "=docker-archive,oci-archive" },
};

/* Positional arguments the usage string cannot tell (running containers
 * only, names of volumes, words). */
static const struct {
        const char *paths;
        const char *kinds;
} positional_sets[] = {
        { "run", "@image @none" }, /* IMAGE|--rootfs DIR */
        { "exec,attach,top,port", "@running @none" },
        { "stop,kill,pause,unpause", "@running" },
        { "cp", "@cpsrc" },
        { "inspect", "@ctrimage" },
        { "volume inspect,volume rm", "@volume" },
        { "volume create", "@none" },
        { "completion", "=bash,zsh,fish @none" },
};

static bool path_matches(const char *list, const char *path)
{
        _cleanup_strv_ char **v = hutch_strv_split(list, ",");

        if (*list == '\0')
                return *path == '\0';
        for (size_t i = 0; v && v[i]; i++)
                if (STREQ(v[i], path) || (strncmp(path, "container ", 10) == 0 && STREQ(v[i], path + 10)))
                        return true;
        return false;
}

const char *cmd_completion_option_kind(const char *path, const char *long_name, const char *placeholder)
{
        for (size_t i = 0; i < sizeof(value_sets) / sizeof(value_sets[0]); i++)
                if (STREQ(value_sets[i].option, long_name) && path_matches(value_sets[i].paths, path))
                        return value_sets[i].kind;
        if (placeholder && (STREQ(placeholder, "FILE") || STREQ(placeholder, "DIR") || STREQ(placeholder, "PATH")))
                return "@file";
        return "@none";
}

static const char *placeholder_kind(const char *word)
{
        static const struct {
                const char *word, *kind;
        } words[] = {
                { "CONTAINER", "@container" }, { "IMAGE", "@image" },  { "REPOSITORY", "@image" },
                { "VOLUME", "@volume" },       { "FILE", "@file" },    { "DIR", "@file" },
                { "PATH", "@file" },           { "TARBALL", "@file" }, { "CONTEXT", "@file" },
        };
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
                if (STREQ(words[i].word, word))
                        return words[i].kind;
        return "@none";
}

char *cmd_completion_positional_kinds(const char *path, const char *usage)
{
        _cleanup_free_ char *flat = NULL;
        _cleanup_strv_ char **tokens = NULL, **kinds = NULL;
        bool repeats = false;
        size_t n = 0;

        for (size_t i = 0; i < sizeof(positional_sets) / sizeof(positional_sets[0]); i++)
                if (path_matches(positional_sets[i].paths, path))
                        return xstrdup(positional_sets[i].kinds);

        /* Drop the option groups ("[OPTIONS]", "[-o FILE]") and the other
         * brackets: what is left are the placeholders in order. */
        flat = xcalloc(1, strlen(usage ? usage : "") + 1);
        for (const char *p = usage ? usage : ""; *p; p++) {
                if (*p == '[' && (p[1] == '-' || strncmp(p, "[OPTIONS]", 9) == 0)) {
                        int depth = 0;
                        for (; *p; p++) {
                                depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
                                if (depth == 0)
                                        break;
                        }
                        if (*p == '\0')
                                break;
                        continue;
                }
                if (*p != '[' && *p != ']')
                        flat[n++] = *p;
        }
        tokens = hutch_strv_split(flat, " ");
        kinds = xcalloc(1, sizeof(char *));
        for (size_t i = 0; tokens && tokens[i] && !repeats; i++) {
                char *t = tokens[i];
                size_t l = strlen(t);
                if (STREQ(t, "|")) /* the rest is another form of the same */
                        break;
                if (l > 3 && STREQ(t + l - 3, "...")) {
                        repeats = true;
                        t[l - 3] = '\0';
                }
                if (strncmp(t, "CONTAINER:", 10) == 0) {
                        hutch_strv_append(&kinds, "@cpsrc");
                        continue;
                }
                t[strcspn(t, "|:")] = '\0';
                hutch_strv_append(&kinds, placeholder_kind(t));
        }
        if (!repeats)
                hutch_strv_append(&kinds, "@none");
        return hutch_strv_join(kinds, " ");
}

int cmd_completion_parse_shell(const char *name, enum cmd_completion_shell *ret)
{
        static const char *const names[] = { "bash", "zsh", "fish" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (STREQ(name, names[i])) {
                        *ret = (enum cmd_completion_shell) i;
                        return 0;
                }
        return -1;
}

/* ---- the tables ---- */

enum { T_SUBS, T_OPTS, T_ARGOPTS, T_VALS, T_POS, T_COUNT };
static const char *const table_names[T_COUNT] = { "subs", "opts", "argopts", "vals", "pos" };
/* What a table says of a key it does not list. */
static const char *const table_defaults[T_COUNT] = { "", "", "", "@none", "@none" };

struct tables {
        char **keys[T_COUNT], **values[T_COUNT];
};

static void add(struct tables *t, int table, char *key, char *value)
{
        hutch_strv_push(&t->keys[table], key);
        hutch_strv_push(&t->values[table], value);
}

static void collect(const struct cmd_command *c, const char *path, struct tables *t)
{
        _cleanup_strv_ char **subs = NULL, **opts = NULL, **argopts = NULL;
        bool h_taken = false;

        for (const struct cmd_option *o = c->options; o && o->long_name; o++) {
                _cleanup_free_ char *l = xasprintf("--%s", o->long_name);
                _cleanup_free_ char *s = o->short_name ? xasprintf("-%c", o->short_name) : NULL;
                h_taken |= o->short_name == 'h';
                hutch_strv_append(&opts, l);
                if (s)
                        hutch_strv_append(&opts, s);
                if (o->has_arg == no_argument)
                        continue;
                if (o->has_arg == required_argument) {
                        hutch_strv_append(&argopts, l);
                        if (s)
                                hutch_strv_append(&argopts, s);
                }
                const char *kind = cmd_completion_option_kind(path, o->long_name, o->arg);
                if (STREQ(kind, "@none"))
                        continue;
                add(t, T_VALS, xasprintf("%s|%s", path, l), xstrdup(kind));
                if (s)
                        add(t, T_VALS, xasprintf("%s|%s", path, s), xstrdup(kind));
        }
        hutch_strv_append(&opts, "--help"); /* cmd_getopt adds it to every command */
        if (!h_taken)
                hutch_strv_append(&opts, "-h");
        add(t, T_OPTS, xstrdup(path), hutch_strv_join(opts, " "));
        if (argopts)
                add(t, T_ARGOPTS, xstrdup(path), hutch_strv_join(argopts, " "));
        if (c->subcommands) {
                for (const struct cmd_command *s = c->subcommands; s->name; s++)
                        hutch_strv_append(&subs, s->name);
                add(t, T_SUBS, xstrdup(path), hutch_strv_join(subs, " "));
                for (const struct cmd_command *s = c->subcommands; s->name; s++) {
                        _cleanup_free_ char *sub = *path ? xasprintf("%s %s", path, s->name) : xstrdup(s->name);
                        collect(s, sub, t);
                }
        } else if (c->fn) {
                char *kinds = cmd_completion_positional_kinds(path, c->usage);
                if (STREQ(kinds, "@none"))
                        free(kinds);
                else
                        add(t, T_POS, xstrdup(path), kinds);
        }
}

/* Single-quoted for the shell (fish escapes ' and \ inside quotes). */
static void put_quoted(FILE *out, enum cmd_completion_shell shell, const char *s)
{
        fputc('\'', out);
        for (; *s; s++) {
                if (*s == '\'' && shell != CMD_COMPLETION_FISH)
                        fputs("'\\''", out);
                else if ((*s == '\'' || *s == '\\') && shell == CMD_COMPLETION_FISH)
                        fprintf(out, "\\%c", *s);
                else
                        fputc(*s, out);
        }
        fputc('\'', out);
}

static void put_table(FILE *out, enum cmd_completion_shell shell, int table, char **keys, char **values)
{
        bool fish = shell == CMD_COMPLETION_FISH;

        if (fish)
                fprintf(out, "function __hutch_%s\n        switch $argv[1]\n", table_names[table]);
        else
                fprintf(out, "_hutch_%s() {\n        case \"$1\" in\n", table_names[table]);
        for (size_t i = 0; keys && keys[i]; i++) {
                fputs(fish ? "        case " : "        ", out);
                put_quoted(out, shell, keys[i]);
                fputs(fish ? "\n                echo " : ") echo ", out);
                put_quoted(out, shell, values[i]);
                fputs(fish ? "\n" : " ;;\n", out);
        }
        fputs(fish ? "        case '*'\n                echo " : "        *) echo ", out);
        put_quoted(out, shell, table_defaults[table]);
        fputs(fish ? "\n        end\nend\n\n" : " ;;\n        esac\n}\n\n", out);
}

int cmd_completion_generate(FILE *out, const struct cmd_command *root, enum cmd_completion_shell shell)
{
        static const char *const names[] = { "bash", "zsh", "fish" };
        const char *walk = shell == CMD_COMPLETION_BASH  ? hutch_completion_walk_bash
                           : shell == CMD_COMPLETION_ZSH ? hutch_completion_walk_zsh
                                                         : hutch_completion_walk_fish;
        struct tables t = { 0 };

        collect(root, "", &t);
        if (shell == CMD_COMPLETION_ZSH)
                fputs("#compdef hutch\n", out);
        fprintf(out,
                "# %s completion for hutch %s, generated by `hutch completion %s` from hutch's own command\n"
                "# tables (cmd/cmd-completion.c, contrib/completion/walk.%s): do not edit.\n\n",
                names[shell], PACKAGE_VERSION, names[shell], names[shell]);
        if (shell == CMD_COMPLETION_BASH)
                fputs("# shellcheck shell=bash disable=SC2016,SC2034\n\n", out);
        for (int i = 0; i < T_COUNT; i++) {
                put_table(out, shell, i, t.keys[i], t.values[i]);
                hutch_strv_free(t.keys[i]);
                hutch_strv_free(t.values[i]);
        }
        fputs(walk, out);
        return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

/* ---- the command ---- */

const struct cmd_option cmd_completion_options[] = {
        { 0 },
};

int cmd_completion(const struct cmd_command *cmd, int argc, char **argv, struct hutch_error **err)
{
        enum cmd_completion_shell shell;
        char *optval = NULL;
        int c = cmd_getopt(cmd, argc, argv, &optval, err);

        if (c == -2) {
                printf("\nTo use it now:\n"
                       "  bash:  source <(hutch completion bash)\n"
                       "  zsh:   source <(hutch completion zsh)     (after compinit)\n"
                       "  fish:  hutch completion fish | source\n"
                       "'make install' puts the scripts where bash-completion, zsh and fish find them.\n");
                return 0;
        }
        if (c == -3)
                return -1;
        if (c != -1)
                return cmd_usage_error(cmd, err, "unexpected option");
        if (argc - optind != 1)
                return cmd_usage_error(cmd, err, "'%s' needs one shell: bash, zsh or fish", cmd->full_name);
        if (cmd_completion_parse_shell(argv[optind], &shell) < 0)
                return cmd_usage_error(cmd, err, "unknown shell '%s' (bash, zsh or fish)", argv[optind]);
        if (cmd_completion_root == NULL)
                return hutch_error_set(err, 0, "no command table to complete");
        if (cmd_completion_generate(stdout, cmd_completion_root, shell) < 0)
                return hutch_error_set(err, 0, "writing the completion script failed");
        return 0;
}
