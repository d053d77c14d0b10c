using System.Globalization;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;

namespace ModelForge.Model;

/// <summary>
/// The half-open value range <c>[Low, High)</c> generated values of one input are drawn from, written
/// <c>NAME:LOW:HIGH</c> (<c>--range ids:0:30000</c> gives token ids 0…29999, <c>--range x:-1:1</c> floats in [-1, 1)).
/// For integer and bool inputs both bounds must be integers (checked against the dtype at generation).
/// </summary>
public sealed partial record InputRange(string Name, double Low, double High)
{
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_.\-]*$")]
    private static partial Regex NamePattern();

    public static InputRange Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length != 3)
            throw Invalid(text, "is not of the form NAME:LOW:HIGH");
        var name = parts[0].Trim();
        if (!NamePattern().IsMatch(name))
            throw Invalid(text, $"has input name '{name}', which is not a valid input name");
        var low = ParseBound(text, parts[1], "LOW");
        var high = ParseBound(text, parts[2], "HIGH");
        if (!(low < high))
            throw Invalid(text, $"is empty: LOW ({parts[1].Trim()}) must be less than HIGH ({parts[2].Trim()}); the range is [LOW, HIGH)");
        return new InputRange(name, low, high);
    }

    /// <summary>Parses <c>NAME:LOW:HIGH</c> items into a dictionary by input name; a name given twice is an error.</summary>
    public static IReadOnlyDictionary<string, InputRange> ParseAll(IEnumerable<string> texts)
    {
        var result = new Dictionary<string, InputRange>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var range = Parse(text);
            if (!result.TryAdd(range.Name, range))
                throw Invalid(text, $"gives a second range for input '{range.Name}'");
        }
        return result;
    }

    public bool IsIntegral => double.IsInteger(Low) && double.IsInteger(High);

    public override string ToString() =>
        $"[{Low.ToString("R", CultureInfo.InvariantCulture)}, {High.ToString("R", CultureInfo.InvariantCulture)})";

    private static double ParseBound(string text, string part, string which)
    {
        if (!double.TryParse(part.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw Invalid(text, $"has {which} '{part.Trim()}', which is not a finite number");
        return value;
    }

    private static ModelForgeException Invalid(string text, string problem) =>
        new(DiagnosticCode.InputSpecInvalid, $"input range '{text}' {problem}", null,
            "write ranges as NAME:LOW:HIGH with LOW < HIGH, values drawn from [LOW, HIGH), e.g. --range ids:0:30000 or --range x:-1:1");
}
