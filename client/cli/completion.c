/* completion.c — `guise --completion bash|zsh`: a completion script for the shell,
 * made from the option table (options.c), so that every option any helper adds
 * is completed without touching the scripts. client/install.cmake installs the
 * output in the standard places (bash-completion's completions/guise, zsh's
 * site-functions/_guise). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"

/* The subcommands as main.c dispatches them. */
static const char subcommands[] = "batch enqueue echo fp profile";

/* What a value is: a file (the value's name says FILE), a folder (DIR), or
 * anything (no completion of its own). */
static int takes_file(const cli_option *o) { return o->arg && strstr(o->arg, "FILE") != NULL; }
static int takes_dir(const cli_option *o) { return o->arg && strstr(o->arg, "DIR") != NULL; }

/* The words of |commands|' options ("--name -x"), space-separated. */
static void bash_words(unsigned command, int (*which)(const cli_option *), FILE *to) {
  const cli_option *o;
  int first = 1;
  for (size_t i = 0; (o = cli_option_at(i)) != NULL; i++) {
    if (!(o->commands & command) || (which && !which(o))) continue;
    fprintf(to, "%s%s", first ? "" : " ", o->name);
    first = 0;
    if (o->letter) fprintf(to, " -%c", o->letter);
  }
}

static void bash_script(FILE *to) {
  fputs(
      "# bash completion for guise (made by `guise --completion bash` from its option table)\n"
      "_guise() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      "  local cmd=fetch\n"
      "  case ${COMP_WORDS[1]} in\n"
      "    batch) cmd=batch ;;\n"
      "    enqueue|echo|fp|profile) return 0 ;;\n"
      "  esac\n",
      to);
  static const struct {
    const char *name;
    unsigned id;
  } cmds[] = {{"fetch", CLI_FETCH}, {"batch", CLI_BATCH}};
  for (size_t c = 0; c < 2; c++) {
    fprintf(to, "  local %s_opts=\"", cmds[c].name);
    bash_words(cmds[c].id, NULL, to);
    fprintf(to, "\"\n  local %s_files=\" ", cmds[c].name);
    bash_words(cmds[c].id, takes_file, to);
    fprintf(to, " \"\n  local %s_dirs=\" ", cmds[c].name);
    bash_words(cmds[c].id, takes_dir, to);
    fputs(" \"\n", to);
  }
  fprintf(to,
          "  local opts=${cmd}_opts files=${cmd}_files dirs=${cmd}_dirs\n"
          "  if [[ $prev == --profile ]]; then\n"
          "    COMPREPLY=($(compgen -W \"$(guise profile list 2>/dev/null | cut -d' ' -f1) none\" "
          "-- \"$cur\")\n"
          "               $(compgen -f -- \"$cur\"))\n"
          "  elif [[ ${!files} == *\" $prev \"* ]]; then\n"
          "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "  elif [[ ${!dirs} == *\" $prev \"* ]]; then\n"
          "    COMPREPLY=($(compgen -d -- \"$cur\"))\n"
          "  elif [[ $cur == -* ]]; then\n"
          "    COMPREPLY=($(compgen -W \"${!opts}\" -- \"$cur\"))\n"
          "  elif [[ $COMP_CWORD == 1 ]]; then\n"
          "    COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))\n"
          "  fi\n"
          "  return 0\n"
          "}\n"
          "complete -o default -F _guise guise\n",
          subcommands);
}

/* |text|'s first line as a zsh _arguments description: inside single quotes, so
 * ' is '\'', and [ ] : \ are escaped with a backslash. */
static void zsh_text(const char *text, FILE *to) {
  for (const char *p = text; *p && *p != '\n'; p++) {
    if (*p == '\'') fputs("'\\''", to);
    else if (*p == '[' || *p == ']' || *p == ':' || *p == '\\') fprintf(to, "\\%c", *p);
    else fputc(*p, to);
  }
}

static void zsh_specs(unsigned command, FILE *to) {
  int which = command == CLI_BATCH;
  const cli_option *o;
  for (size_t i = 0; (o = cli_option_at(i)) != NULL; i++) {
    if (!(o->commands & command)) continue;
    const char *text = o->help[which] ? o->help[which] : o->help[!which] ? o->help[!which] : "";
    const char *action = strcmp(o->name, "--profile") == 0 ? "_guise_profile"
                         : takes_dir(o)                    ? "_files -/"
                         : takes_file(o)                   ? "_files"
                                                           : " ";
    for (int form = 0; form < (o->letter ? 2 : 1); form++) {
      fputs("    '", to);
      if (form) fprintf(to, "-%c", o->letter);
      else fputs(o->name, to);
      fputc('[', to);
      zsh_text(text, to);
      fputc(']', to);
      if (o->arg) {
        fputc(':', to);
        zsh_text(o->arg, to);
        fprintf(to, ":%s", action);
      }
      fputs("'\n", to);
    }
  }
}

static void zsh_script(FILE *to) {
  fputs(
      "#compdef guise\n"
      "# zsh completion for guise (made by `guise --completion zsh` from its option table)\n"
      "_guise_profile() {\n"
      "  local -a names\n"
      "  names=(${${(f)\"$(guise profile list 2>/dev/null)\"}%% *} none)\n"
      "  _alternative 'profiles:profile:compadd -a names' 'files:profile file:_files'\n"
      "}\n"
      "_guise() {\n"
      "  local -a fetch_specs batch_specs\n"
      "  fetch_specs=(\n",
      to);
  zsh_specs(CLI_FETCH, to);
  fputs("  )\n  batch_specs=(\n", to);
  zsh_specs(CLI_BATCH, to);
  fprintf(
      to,
      "  )\n"
      "  if (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then\n"
      "    _alternative 'commands:command:(%s)' 'urls:URL:_urls'\n"
      "    return\n"
      "  fi\n"
      "  case $words[2] in\n"
      "    batch) shift words; (( CURRENT-- )); _arguments -S $batch_specs '*:input:_files' ;;\n"
      "    enqueue|echo|fp|profile) _files ;;\n"
      "    *) _arguments -S $fetch_specs '*:URL:_urls' ;;\n"
      "  esac\n"
      "}\n"
      "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
      "  _guise \"$@\"\n"
      "else\n"
      "  compdef _guise guise\n"
      "fi\n",
      subcommands);
}

int cli_completion(const char *shell, FILE *to) {
  if (strcmp(shell, "bash") == 0) bash_script(to);
  else if (strcmp(shell, "zsh") == 0) zsh_script(to);
  else return -1;
  return 0;
}
