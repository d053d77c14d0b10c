using System.Text.RegularExpressions;

namespace ModelForge.Cli.Tests;

/// <summary>Each command's <c>--help</c> teaches: examples at the end, placeholders that say what a value is, one spelling per concept.</summary>
public sealed class HelpTests
{
    [Theory]
    [MemberData(nameof(UsageErrorTests.Commands), MemberType = typeof(UsageErrorTests))]
    public void Help_ends_with_examples_of_the_command_and_says_what_each_value_takes(string command)
    {
        var (exitCode, output, _) = CliRunner.Run(command, "--help");

        Assert.Equal(0, exitCode);
        var examples = output[(output.LastIndexOf("Examples:", StringComparison.Ordinal) + "Examples:".Length)..]
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.InRange(examples.Length, 2, 3);
        Assert.All(examples, line => Assert.Contains($"modelforge {command}", line));
        // A placeholder is upper case (FILE, DIR, N, NAME:…) or a list of choices, never the option's own name.
        Assert.Empty(Regex.Matches(output, @"--(?<name>[a-z-]+) <\k<name>>").Select(m => m.Value));
    }

    [Fact]
    public void Validate_and_engine_spell_required_providers_the_same_way()
    {
        Assert.Contains("--require <cpu|cuda|tensorrt>", CliRunner.Run("validate", "--help").Output);
        Assert.Contains("--require <cuda|tensorrt>", CliRunner.Run("engine", "--help").Output);
        Assert.DoesNotContain("--ep", CliRunner.Run("validate", "--help").Output);
    }
}
