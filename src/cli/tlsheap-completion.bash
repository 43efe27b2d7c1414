# bash completion for tlsheap (installed as
# share/bash-completion/completions/tlsheap). Commands and options come from
# tlsheap's own --help, so they never fall behind the program; scenario names
# from `tlsheap scenarios`.

# Words listed under "Subcommands:" in the --help of `tlsheap ARGS`.
_tlsheap_subcommands() {
  "$_tlsheap_program" "$@" --help 2>/dev/null |
    sed -n '/^Subcommands:/,$ s/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# Long options in the --help of `tlsheap ARGS`.
_tlsheap_options() {
  "$_tlsheap_program" "$@" --help 2>/dev/null |
    sed -n '/^Options:/,/^Subcommands:/ s/^  \(-[a-z],\)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p'
}

_tlsheap() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD - 1]}"
  _tlsheap_program="${COMP_WORDS[0]}"
  COMPREPLY=()

  # The command (and a nested one: trace show), the first words that are not options.
  local path=() i word nested
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && break
    nested=$(_tlsheap_subcommands "${path[@]}")
    grep -qx -- "$word" <<<"$nested" || break
    path+=("$word")
  done

  case "$prev" in
    --scenario)
      COMPREPLY=($(compgen -W "$("$_tlsheap_program" scenarios 2>/dev/null | cut -d' ' -f1)" -- "$cur"))
      compopt -o default 2>/dev/null # or a scenario file
      return ;;
    --mbedtls)
      COMPREPLY=($(compgen -W "3.6 2.28" -- "$cur"))
      compopt -o dirnames 2>/dev/null
      return ;;
    --peer) COMPREPLY=($(compgen -W "mbedtls openssl" -- "$cur")); return ;;
    --abi) COMPREPLY=($(compgen -W "host ilp32 arm" -- "$cur")); return ;;
    --side) COMPREPLY=($(compgen -W "client server" -- "$cur")); return ;;
    --stack-backend) COMPREPLY=($(compgen -W "frame-pointer libunwind execinfo" -- "$cur")); return ;;
    --export)
      COMPREPLY=($(compgen -d -- "$cur"))
      compopt -o dirnames 2>/dev/null
      return ;;
    --config | --trace | --json | --output | --baseline | --ca)
      COMPREPLY=($(compgen -f -- "$cur"))
      compopt -o filenames 2>/dev/null
      return ;;
  esac

  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$(_tlsheap_options "${path[@]}")" -- "$cur"))
    return
  fi
  local commands
  commands=$(_tlsheap_subcommands "${path[@]}")
  if [ -n "$commands" ] && [ "${#path[@]}" -eq $((COMP_CWORD - 1)) ]; then
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    return
  fi
  # Traces and documents.
  COMPREPLY=($(compgen -f -- "$cur"))
  compopt -o filenames 2>/dev/null
}
complete -F _tlsheap tlsheap
