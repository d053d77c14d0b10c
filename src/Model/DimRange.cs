using System.Globalization;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Model;

/// <summary>The range of one symbolic dim: TensorRT profile min/opt/max, validation batch sizes, the bundles' largest batch.</summary>
public sealed record DimRange(long Min, long Opt, long Max)
{
    /// <summary>What <c>--dim</c> takes, for help texts and hints.</summary>
    public const string Syntax = "NAME=MIN/OPT/MAX";

    private const string Hint = "write --dim NAME=MIN/OPT/MAX with positive ints, NAME=MIN/MAX (opt = max, as in a spec's \"dims\") " +
                                "or NAME=SIZE (fixed), e.g. --dim batch=1/8/32";

    /// <summary>
    /// One <c>--dim</c> value: <c>NAME=MIN/OPT/MAX</c>, <c>NAME=MIN/MAX</c> (opt defaults to max, as a spec's <c>dims</c>
    /// entry without <c>opt</c>) or <c>NAME=SIZE</c> (min = opt = max). Sizes are positive; min ≤ opt ≤ max.
    /// </summary>
    public static (string Name, DimRange Range) Parse(string text)
    {
        var equals = text.IndexOf('=');
        var name = equals < 0 ? "" : text[..equals].Trim();
        if (name.Length == 0)
            throw Invalid(text, "is not NAME=MIN/OPT/MAX (a dim name, '=', then its range)");
        var parts = text[(equals + 1)..].Split('/');
        var sizes = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] < 1)
                throw Invalid(text, $"has '{parts[i].Trim()}', which is not a positive int");
        }
        var range = sizes switch
        {
            [var size] => new DimRange(size, size, size),
            [var min, var max] => new DimRange(min, max, max),
            [var min, var opt, var max] => new DimRange(min, opt, max),
            _ => throw Invalid(text, $"has {sizes.Length} sizes; a range is MIN/OPT/MAX, MIN/MAX or one SIZE"),
        };
        if (!(range.Min <= range.Opt && range.Opt <= range.Max))
            throw Invalid(text, $"has min {range.Min}, opt {range.Opt}, max {range.Max}: it needs min ≤ opt ≤ max");
        return (name, range);
    }

    /// <summary>
    /// Every <c>--dim</c> value of a command line, by name: each must name a symbolic dim of <paramref name="inputs"/>,
    /// once.
    /// </summary>
    public static IReadOnlyDictionary<string, DimRange> ParseAll(IEnumerable<string> texts, IReadOnlyList<InputSpec> inputs)
    {
        var symbols = inputs.SelectMany(i => i.Dims).Select(d => d.Symbol).OfType<string>().Distinct().ToList();
        var ranges = new Dictionary<string, DimRange>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var (name, range) = Parse(text);
            if (!symbols.Contains(name))
                throw Invalid(text, $"names '{name}', which is no symbolic dim of the inputs " +
                                    (symbols.Count == 0 ? "(they are all static)" : $"(symbolic dims: {string.Join(", ", symbols)})"));
            if (!ranges.TryAdd(name, range))
                throw Invalid(text, $"is the second --dim for '{name}'; give each dim one range");
        }
        return ranges;
    }

    /// <summary>The command-line form of the range, <c>MIN/OPT/MAX</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Min}/{Opt}/{Max}");

    private static ModelForgeException Invalid(string text, string problem) =>
        new(DiagnosticCode.CommandLineInvalid, $"--dim '{text}' {problem}", null, Hint);
}
