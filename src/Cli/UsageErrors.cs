using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Cli;

/// <summary>
/// Turns System.CommandLine's parse errors into ModelForge diagnostics: one <c>MF5005</c> line per problem on stderr,
/// saying what is wrong in the user's words (an unknown option with the nearest valid one, a value that does not parse
/// with what the option takes, never a .NET type name), with the command's one-line usage as the hint. Nothing goes to
/// stdout, and the exit code is 2 like every other invalid input (1 is reserved for the accuracy gate).
/// </summary>
internal static partial class UsageErrors
{
    public static IReadOnlyList<Diagnostic> From(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        var hint = $"usage: {Usage(parse.CommandResult)}; see {CommandPath(parse.CommandResult)} --help";
        return parse.Errors
            .Select(error => Describe(error, command))
            .Distinct()
            .Select(message => new Diagnostic(DiagnosticCode.CommandLineInvalid, message, null, hint))
            .ToList();
    }

    private static string Describe(ParseError error, Command command)
    {
        if (UnparsableValue().Match(error.Message) is { Success: true } bad)
        {
            var name = bad.Groups["name"].Value;
            var type = command.Options.FirstOrDefault(o => o.Name == name || o.Aliases.Contains(name))?.ValueType
                       ?? command.Arguments.FirstOrDefault(a => a.Name == name)?.ValueType;
            var what = bad.Groups["kind"].Value == "option" ? name : $"<{name}>";
            return $"{what} does not take '{bad.Groups["value"].Value}'" + (type is null ? "" : $": it takes {Expected(type)}");
        }
        if (UnknownToken(error.Message) is { } token)
        {
            var known = command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name))
                .Concat(command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)).ToList();
            var nearest = known.MinBy(name => Distance(name, token));
            var suggestion = nearest is not null && Distance(nearest, token) <= Math.Max(2, token.Length / 3) ? $"; did you mean '{nearest}'?" : "";
            var kind = token.StartsWith('-') ? "unknown option" : "unexpected argument";
            return $"{kind} '{token}'{suggestion}";
        }
        return error.Message.TrimEnd('.');
    }

    /// <summary>System.CommandLine's "Cannot parse argument 'abc' for option '--opset' as expected type '…'", whose type name users should not see.</summary>
    [GeneratedRegex("^Cannot parse argument '(?<value>.*)' for (?<kind>option|argument|command) '(?<name>[^']*)'")]
    private static partial Regex UnparsableValue();

    /// <summary>The token System.CommandLine could not match, from its message "Unrecognized command or argument 'X'."</summary>
    private static string? UnknownToken(string message)
    {
        const string prefix = "Unrecognized command or argument '";
        return message.StartsWith(prefix, StringComparison.Ordinal) && message.LastIndexOf('\'') is var end && end > prefix.Length
            ? message[prefix.Length..end]
            : null;
    }

    private static string Expected(Type type) => (Nullable.GetUnderlyingType(type) ?? type) switch
    {
        var t when t == typeof(int) || t == typeof(long) => "a whole number",
        var t when t == typeof(double) || t == typeof(float) => "a number",
        var t when t == typeof(bool) => "true or false (or nothing)",
        var t when t == typeof(FileInfo) => "a file path",
        var t when t == typeof(DirectoryInfo) => "a folder path",
        _ => "text",
    };

    /// <summary><c>modelforge convert &lt;model&gt; [options]</c>: the command, its arguments, and whether it has options.</summary>
    public static string Usage(CommandResult result)
    {
        var command = result.Command;
        var arguments = command.Arguments.Where(a => !a.Hidden).Select(a => $"<{a.Name}>");
        var required = command.Options.Where(o => o.Required && !o.Hidden).Select(o => $"{o.Name} {Placeholder(o)}".TrimEnd());
        return string.Join(" ", new[] { CommandPath(result) }.Concat(arguments).Concat(required).Append("[options]"));
    }

    private static string Placeholder(Option option) => option.HelpName is { Length: > 0 } name ? $"<{name}>" : "";

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult c; r = c.Parent) names.Add(c.Command is RootCommand ? "modelforge" : c.Command.Name);
        names.Reverse();
        return string.Join(" ", names);
    }

    /// <summary>Levenshtein distance: how many single-character edits turn one name into the other.</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            previous = current;
        }
        return previous[b.Length];
    }
}
