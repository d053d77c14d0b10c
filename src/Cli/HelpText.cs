using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.CompilerServices;

namespace ModelForge.Cli;

/// <summary>
/// What <c>--help</c> shows beyond System.CommandLine's defaults: an "Examples:" section at the end of each command's
/// help, with command lines that run as written from the repository root (they use the committed fixtures), and value
/// placeholders that say what an option takes (<c>--cache &lt;DIR&gt;</c>, not <c>--cache &lt;cache&gt;</c>).
/// </summary>
internal static class HelpText
{
    private static readonly ConditionalWeakTable<Command, string[]> Examples = new();

    public static void Add(Command command, params string[] lines) => Examples.AddOrUpdate(command, lines);

    /// <summary>Makes <paramref name="root"/>'s help option print the section after System.CommandLine's own help.</summary>
    public static void Install(RootCommand root)
    {
        var help = root.Options.OfType<HelpOption>().Single();
        if (help.Action is HelpAction standard) help.Action = new WithExamples(standard);
        foreach (var option in root.Subcommands.SelectMany(c => c.Options).Where(o => o.HelpName is null))
            option.HelpName = Placeholder(option.ValueType);
    }

    /// <summary>The placeholder for an option's value by its type; null (System.CommandLine's own) for flags and choices.</summary>
    private static string? Placeholder(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(FileInfo) => "FILE",
        var t when t == typeof(DirectoryInfo) => "DIR",
        var t when t == typeof(int) || t == typeof(long) => "N",
        var t when t == typeof(double) => "NUMBER",
        _ => null,
    };

    /// <summary>True when the command line asks for help (<c>-h</c>, <c>--help</c>, <c>-?</c>).</summary>
    public static bool IsHelp(ParseResult parse) => parse.Action is WithExamples or HelpAction;

    private sealed class WithExamples(HelpAction standard) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parse)
        {
            var exitCode = standard.Invoke(parse);
            if (Examples.TryGetValue(parse.CommandResult.Command, out var lines))
            {
                var output = parse.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var line in lines) output.WriteLine("  " + line);
                output.WriteLine();
            }
            return exitCode;
        }
    }
}
