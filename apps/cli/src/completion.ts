import type { Command, Option } from "commander";

/**
 * Shell completion scripts made from the commander program itself (its commands, options and
 * descriptions), so they never drift from the CLI. They are static: TAB completes without starting
 * node (a completer that calls the program back, as tabtab/omelette do, would cost the CLI's start-up
 * on every TAB).
 */

interface Spec {
  name: string;
  description: string;
  options: { flag: string; description: string; takesValue: boolean }[];
  /** Completions of the first argument, when it is one of a few words. */
  argumentWords: string[];
}

const optionsOf = (cmd: Command) =>
  (cmd.options as readonly Option[])
    .filter((o) => o.long)
    .map((o) => ({ flag: o.long!, description: o.description, takesValue: o.required || o.optional }));

function specs(program: Command): { globals: Spec["options"]; commands: Spec[] } {
  const commands = program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: [...optionsOf(c), { flag: "--help", description: "show help", takesValue: false }],
    argumentWords: c.name() === "completion" ? ["bash", "zsh"] : [],
  }));
  commands.push({ name: "help", description: "show help for a command", options: [], argumentWords: [] });
  return {
    globals: [...optionsOf(program), { flag: "--help", description: "show help", takesValue: false }],
    commands,
  };
}

const words = (xs: string[]) => xs.join(" ");

function bash(program: Command): string {
  const { globals, commands } = specs(program);
  const valued = globals.filter((o) => o.takesValue).map((o) => o.flag);
  const cases = commands
    .map((c) => {
      const opts = words(c.options.map((o) => o.flag));
      const args = words(c.argumentWords);
      return `    ${c.name}) opts="${opts}${args ? ` ${args}` : ""}" ;;`;
    })
    .join("\n");
  return `# spendlens completion for bash: eval "$(spendlens completion bash)" (e.g. in ~/.bashrc)
_spendlens() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" sub="" i=1 opts
  # The first word that is neither an option nor an option's value is the command.
  while [ $i -lt $COMP_CWORD ]; do
    case "\${COMP_WORDS[i]}" in
      ${valued.join("|")}) i=$((i + 2)); continue ;;
      -*) ;;
      *) sub="\${COMP_WORDS[i]}"; break ;;
    esac
    i=$((i + 1))
  done
  case "$sub" in
    "") opts="${words(globals.map((o) => o.flag))} ${words(commands.map((c) => c.name))}" ;;
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _spendlens spendlens
`;
}

/** Text inside a zsh single-quoted `_arguments` spec: no brackets or colons unescaped. */
const zq = (s: string) =>
  s.replace(/'/g, "'\\''").replace(/[[\]]/g, "").replace(/:/g, "\\:").replace(/\s+/g, " ").trim();

function zshOptions(opts: Spec["options"]): string {
  return opts
    .map((o) => `'${o.flag}[${zq(o.description)}]${o.takesValue ? `:${o.flag.slice(2)}:` : ""}'`)
    .join(" \\\n        ");
}

function zsh(program: Command): string {
  const { globals, commands } = specs(program);
  const described = commands.map((c) => `    '${c.name}:${zq(c.description)}'`).join("\n");
  const cases = commands
    .map((c) => {
      const arg = c.argumentWords.length ? ` \\\n        '1:${c.name}:(${c.argumentWords.join(" ")})'` : "";
      const opts = c.options.length ? ` \\\n        ${zshOptions(c.options)}` : "";
      return `    ${c.name})\n      _arguments${opts}${arg} ;;`;
    })
    .join("\n");
  return `#compdef spendlens
# spendlens completion for zsh: eval "$(spendlens completion zsh)" (after compinit, e.g. in ~/.zshrc)
_spendlens() {
  local curcontext="$curcontext" state line
  local -a commands
  commands=(
${described}
  )
  _arguments -C \\
        ${zshOptions(globals)} \\
        '1: :->command' \\
        '*:: :->args'
  case $state in
    command) _describe -t commands 'spendlens command' commands ;;
    args)
      case $words[1] in
${cases}
      esac ;;
  esac
}
compdef _spendlens spendlens
`;
}

export function completionScript(program: Command, shell: "bash" | "zsh"): string {
  return shell === "bash" ? bash(program) : zsh(program);
}
