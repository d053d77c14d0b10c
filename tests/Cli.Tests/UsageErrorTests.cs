using System.CommandLine;

namespace ModelForge.Cli.Tests;

/// <summary>
/// The exit-code contract for command lines that do not parse: every command, given an unknown option, no arguments,
/// or a value of the wrong kind, exits 2 (never 1, the accuracy gate's) with an MF5005 line per problem and a one-line
/// usage on stderr, prints nothing on stdout, and names no .NET type.
/// </summary>
public sealed class UsageErrorTests
{
    /// <summary>The commands a user sees (not the hidden child-process ones).</summary>
    public static TheoryData<string> Commands => new(Program.BuildRootCommand().Subcommands.Where(c => !c.Hidden).Select(c => c.Name));

    public static TheoryData<string> CommandsWithANumericOption => new(Program.BuildRootCommand().Subcommands
        .Where(c => c.Options.Any(o => NumericOption(o))).Select(c => c.Name));

    private static bool NumericOption(Option option) =>
        (Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType) is var t && (t == typeof(int) || t == typeof(long) || t == typeof(double));

    [Theory]
    [MemberData(nameof(Commands))]
    public void An_unknown_option_exits_2_with_MF5005_and_the_usage(string command)
    {
        // Enough positional values first, so the option cannot be taken for one of the command's arguments.
        var result = CliRunner.Run(command, "model.pt", "model.onnx", "--no-such-option");

        AssertUsageError(result, command);
        Assert.Contains("unknown option '--no-such-option'", result.Error);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void A_missing_required_argument_exits_2_with_MF5005(string command)
    {
        var result = CliRunner.Run(command);

        AssertUsageError(result, command);
        Assert.Contains("Required argument missing", result.Error);
    }

    [Theory]
    [MemberData(nameof(CommandsWithANumericOption))]
    public void A_value_of_the_wrong_kind_exits_2_and_says_what_the_option_takes(string command)
    {
        var numeric = Program.BuildRootCommand().Subcommands.Single(c => c.Name == command).Options
            .First(NumericOption);

        var result = CliRunner.Run(command, "model.pt", numeric.Name, "abc");

        AssertUsageError(result, command);
        Assert.Contains($"{numeric.Name} does not take 'abc'", result.Error);
        Assert.Matches("it takes a (whole )?number", result.Error);
    }

    [Fact]
    public void A_mistyped_option_is_answered_with_the_nearest_valid_one()
    {
        var result = CliRunner.Run("validate", "model.pt", "model.onnx", "--atoll", "1e-3");

        AssertUsageError(result, "validate");
        Assert.Contains("unknown option '--atoll'; did you mean '--atol'?", result.Error);
    }

    [Fact]
    public void Help_is_still_printed_on_stdout_with_exit_0()
    {
        var result = CliRunner.Run("convert", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--opset", result.Output);
        Assert.Equal("", result.Error);
    }

    [Theory]
    [InlineData("build", "spec.modelforge.json")]
    [InlineData("package", "model.onnx", "--input", "x:float32[batch,8]", "--name", "m", "-o", "out", "--tuning-lock", "m.lock.json")]
    public void Retune_and_locked_exclude_each_other(string command, params string[] arguments)
    {
        var result = CliRunner.Run([command, .. arguments, "--retune", "--locked"]);

        AssertUsageError(result, command);
        Assert.Contains("--retune and --locked exclude each other", result.Error);
    }

    private static void AssertUsageError((int ExitCode, string Output, string Error) result, string command)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}: {result.Output}{result.Error}");
        Assert.Equal("", result.Output);
        Assert.Contains("error MF5005", result.Error);
        Assert.Contains($"hint: usage: modelforge {command} <", result.Error);
        Assert.DoesNotContain("System.", result.Error);
    }
}
