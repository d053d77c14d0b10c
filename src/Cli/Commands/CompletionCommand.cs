using System.CommandLine;

namespace ModelForge.Cli.Commands;

/// <summary>
/// <c>modelforge completion bash|zsh|pwsh</c>: prints a shell script that asks ModelForge itself for completions through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, so the suggestions always match this build's commands and
/// options. Written here rather than relying on the <c>dotnet-suggest</c> global tool, which users would have to
/// install and register separately.
/// </summary>
internal static class CompletionCommand
{
    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "The shell to print the script for: bash, zsh or pwsh." };
        shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
        var command = new Command("completion",
            "Print a tab-completion script for a shell. bash: add  eval \"$(modelforge completion bash)\"  to ~/.bashrc; " +
            "zsh: add  eval \"$(modelforge completion zsh)\"  to ~/.zshrc (after compinit); PowerShell: add  " +
            "modelforge completion pwsh | Out-String | Invoke-Expression  to $PROFILE.")
        {
            shell,
        };
        HelpText.Add(command,
            "eval \"$(modelforge completion bash)\"",
            "modelforge completion pwsh | Out-String | Invoke-Expression");
        command.SetAction(parse =>
        {
            parse.InvocationConfiguration.Output.Write(Script(parse.GetRequiredValue(shell)));
            return 0;
        });
        return command;
    }

    public static string Script(string shell) => shell switch
    {
        "bash" => """
            # modelforge tab completion for bash: eval "$(modelforge completion bash)"
            _modelforge_complete() {
                local IFS=$'\n'
                local suggestions
                suggestions="$(modelforge "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)"
                COMPREPLY=($(compgen -W "${suggestions}" -- "${COMP_WORDS[COMP_CWORD]}"))
            }
            complete -o default -F _modelforge_complete modelforge

            """,
        "zsh" => """
            # modelforge tab completion for zsh: eval "$(modelforge completion zsh)" after compinit
            _modelforge() {
                local -a suggestions
                suggestions=("${(@f)$(modelforge "[suggest:${CURSOR}]" "${BUFFER}" 2>/dev/null)}")
                compadd -a suggestions
                _files
            }
            compdef _modelforge modelforge

            """,
        _ => """
            # modelforge tab completion for PowerShell: modelforge completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName modelforge -ScriptBlock {
                param($wordToComplete, $commandAst, $cursorPosition)
                modelforge "[suggest:$cursorPosition]" "$commandAst" 2>$null | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                }
            }

            """,
    };
}
