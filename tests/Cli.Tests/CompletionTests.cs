using System.Diagnostics;

namespace ModelForge.Cli.Tests;

/// <summary><c>modelforge completion bash</c>: the script, sourced in a real bash, completes this build's options.</summary>
public sealed class CompletionTests
{
    [Theory]
    [InlineData("modelforge convert --op", new[] { "--opset", "--optimize" })]
    [InlineData("modelforge pack", new[] { "package" })]
    [InlineData("modelforge build --progress ", new[] { "auto", "live", "plain" })]
    public void The_bash_script_completes_commands_options_and_values(string line, string[] expected)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "modelforge.dll");
        var words = line.EndsWith(' ') ? [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries), ""] : line.Split(' ');
        var script = $$"""
            modelforge() { dotnet '{{cli}}' "$@"; }
            eval "$(modelforge completion bash)"
            COMP_LINE='{{line}}'; COMP_POINT=${#COMP_LINE}
            COMP_WORDS=({{string.Join(" ", words.Select(w => $"'{w}'"))}}); COMP_CWORD={{words.Length - 1}}
            _modelforge_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var bash = Process.Start(start)!;
        bash.StandardInput.Write(script);
        bash.StandardInput.Close();
        var output = bash.StandardOutput.ReadToEnd();
        var error = bash.StandardError.ReadToEnd();
        bash.WaitForExit();

        Assert.True(bash.ExitCode == 0, error);
        Assert.Equal(expected, output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("zsh", "compdef _modelforge modelforge")]
    [InlineData("pwsh", "Register-ArgumentCompleter -Native -CommandName modelforge")]
    public void Each_shell_gets_a_script_that_asks_the_suggest_directive(string shell, string registration)
    {
        var (exitCode, output, _) = CliRunner.Run("completion", shell);

        Assert.Equal(0, exitCode);
        Assert.Contains(registration, output);
        Assert.Contains("[suggest:", output);
    }

    [Fact]
    public void An_unknown_shell_is_a_usage_error()
    {
        var (exitCode, _, error) = CliRunner.Run("completion", "fish");

        Assert.Equal(2, exitCode);
        Assert.Contains("error MF5005", error);
    }
}
