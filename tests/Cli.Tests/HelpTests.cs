using System.CommandLine;
using System.CommandLine.Completions;
using System.Text.RegularExpressions;

namespace ModelForge.Cli.Tests;

/// <summary>
/// Each command's <c>--help</c> teaches: examples at the end, placeholders that say what a value is, defaults shown one
/// way (<c>[default: …]</c> at the end of the line), required options marked, one spelling per concept.
/// </summary>
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

    public static TheoryData<string, string> VisibleOptions
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var command in Program.BuildRootCommand().Subcommands)
                foreach (var option in command.Options.Where(o => !o.Hidden)) data.Add(command.Name, option.Name);
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(VisibleOptions))]
    public void Every_option_shows_its_default_one_way_and_required_options_are_marked(string command, string name)
    {
        var option = Program.BuildRootCommand().Subcommands.Single(c => c.Name == command).Options.Single(o => o.Name == name);
        var line = HelpLine(command, option);

        // Written in the description where System.CommandLine cannot know it (it depends on the spec, the dtype, …).
        var written = Regex.Matches(line, @"\[default: [^\]]+\]").ToList();
        Assert.True(written.Count <= 1, line);
        // A flag is off unless given, which System.CommandLine rightly does not spell out.
        if (option.HasDefaultValue && option.ValueType != typeof(bool))
            Assert.EndsWith($"[default: {option.GetDefaultValue()}]", line);
        else if (written.Count == 1)
            Assert.EndsWith(written[0].Value, line);
        // "default" in any other form ("Default: x", "(default x)", "by default") is the inconsistency this test is for;
        // a choice named default (--archive-format default) is a value, not a default.
        var choices = option.GetCompletions(CompletionContext.Empty).Select(c => c.Label).ToHashSet();
        var rest = Regex.Replace(line, @"\[default: [^\]]+\]", "");
        Assert.All(Regex.Matches(rest, @"\bdefaults?\b", RegexOptions.IgnoreCase), m => Assert.Contains(m.Value, choices));
        Assert.Equal(option.Required, line.Contains("(REQUIRED)", StringComparison.Ordinal));
    }

    /// <summary>The option's line in its command's help: from its placeholder column to the end of the line.</summary>
    private static string HelpLine(string command, Option option)
    {
        var (_, output, _) = CliRunner.Run(command, "--help");
        var lines = output.Split('\n').Select(l => l.TrimEnd()).ToList();
        var first = lines.FindIndex(l => Regex.IsMatch(l, $@"^\s+(-\w, )?{Regex.Escape(option.Name)}\b"));
        Assert.True(first >= 0, $"{option.Name} is not in {command} --help:\n{output}");
        // A long description may wrap onto indented lines of its own.
        var wrapped = lines.Skip(first + 1).TakeWhile(l => Regex.IsMatch(l, @"^\s{10,}\S"));
        return string.Join(" ", wrapped.Select(l => l.Trim()).Prepend(lines[first].Trim()));
    }

    [Fact]
    public void Shapes_have_one_spelling_dim_ranges_by_name_and_no_x_separated_profile()
    {
        foreach (var command in new[] { "engine", "validate", "build" })
            Assert.Contains("--dim <NAME=MIN/OPT/MAX>", CliRunner.Run(command, "--help").Output);
        foreach (var command in Program.BuildRootCommand().Subcommands.Select(c => c.Name))
        {
            var help = CliRunner.Run(command, "--help").Output;
            Assert.DoesNotContain("--profile", help);
            Assert.DoesNotMatch(@"\d+x\d+x\d+", help);
        }
    }
}
