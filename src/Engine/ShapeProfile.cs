using System.Globalization;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;

namespace ModelForge.Engine;

/// <summary>
/// One TensorRT optimisation profile for one input: the smallest, the tuned-for and the largest shape. The command line
/// gives dim ranges by name (<c>--dim batch=1/8/32</c>, <see cref="ShapeProfiles.Resolve"/>), as a spec's <c>dims</c>
/// does; a whole profile is only the hidden legacy <c>--profile NAME:MIN/OPT/MAX</c>, each shape in brackets like
/// <c>--input</c>'s (<c>x:[1,3,224,224]/[8,3,224,224]/[32,3,224,224]</c>) or, as first spelled, with <c>x</c>-separated
/// dims (<c>x:1x3x224x224/8x3x224x224/32x3x224x224</c>). ORT's provider options want each of the three as
/// <c>NAME:1x3x224x224</c> (<see cref="Format"/>).
/// </summary>
public sealed record ShapeProfile(string Input, IReadOnlyList<long> Min, IReadOnlyList<long> Opt, IReadOnlyList<long> Max)
{
    public static ShapeProfile Parse(string text)
    {
        // Names may hold ':' (encoder.ids:0): the shapes start after the last ':' before the first bracket, if any.
        var bracket = text.IndexOf('[');
        var colon = bracket < 0 ? text.LastIndexOf(':') : text.LastIndexOf(':', bracket);
        if (colon <= 0)
            throw Invalid(text, "is not NAME:MIN/OPT/MAX");
        var name = text[..colon].Trim();
        var shapes = text[(colon + 1)..].Split('/');
        if (name.Length == 0 || name.Contains(',') || shapes.Length != 3)
            throw Invalid(text, "is not NAME:MIN/OPT/MAX (three shapes separated by '/')");
        var min = ParseShape(text, shapes[0], "min");
        var opt = ParseShape(text, shapes[1], "opt");
        var max = ParseShape(text, shapes[2], "max");
        return new ShapeProfile(name, min, opt, max).Checked(text);
    }

    /// <summary>Throws unless the three shapes have one rank and min ≤ opt ≤ max in every dim.</summary>
    internal ShapeProfile Checked(string source)
    {
        if (Min.Count != Opt.Count || Opt.Count != Max.Count)
            throw Invalid(source, $"has shapes of different ranks ({Min.Count}, {Opt.Count}, {Max.Count})");
        for (var i = 0; i < Min.Count; i++)
        {
            if (Min[i] > Opt[i] || Opt[i] > Max[i])
                throw Invalid(source, $"has dim {i} with min {Min[i]}, opt {Opt[i]}, max {Max[i]}: it needs min ≤ opt ≤ max");
        }
        return this;
    }

    /// <summary>A bracketed shape, <c>[1,3,224,224]</c>, or the legacy <c>1x3x224x224</c>.</summary>
    private static long[] ParseShape(string source, string shape, string which)
    {
        shape = shape.Trim();
        var bracketed = shape.StartsWith('[') && shape.EndsWith(']');
        var parts = bracketed ? shape[1..^1].Split(',') : shape.Split('x');
        var dims = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out dims[i]) || dims[i] < 1)
                throw Invalid(source, $"has {which} shape '{shape}', which is not positive ints in brackets, e.g. [1,3,224,224]");
        }
        return dims;
    }

    /// <summary>ORT's per-input profile syntax, <c>NAME:d1xd2x…</c>.</summary>
    public static string Format(string input, IReadOnlyList<long> shape) =>
        $"{input}:{string.Join("x", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}";

    /// <summary>The bracketed command-line form, <c>NAME:[MIN]/[OPT]/[MAX]</c>; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() => $"{Input}:{Shape(Min)}/{Shape(Opt)}/{Shape(Max)}";

    private static string Shape(IReadOnlyList<long> shape) => $"[{string.Join(",", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";

    internal static ModelForgeException Invalid(string source, string problem) =>
        new(DiagnosticCode.EngineProfileInvalid, $"--profile '{source}' {problem}", null,
            "give dim ranges by name instead, e.g. --dim batch=1/8/32; a profile is NAME:MIN/OPT/MAX with each shape in brackets, " +
            "e.g. --profile x:[1,3,224,224]/[8,3,224,224]/[32,3,224,224]");
}

/// <summary>Turns dim ranges into one profile per dynamic input, the way a spec's <c>dims</c> and <c>modelforge engine --dim</c> give them.</summary>
public static class ShapeProfiles
{
    /// <summary>
    /// One profile per input that has a symbolic dim, in input order: each symbolic dim spans its range in
    /// <paramref name="ranges"/>, wherever its name appears, so inputs that share a dim get one range. The batch dim
    /// (<see cref="BatchDim"/>, the rule validate and the tuner use) without a range spans 1..<paramref name="maxBatch"/>
    /// with opt = <paramref name="maxBatch"/> (a dynamic batcher under load fills batches, so that is the shape worth
    /// tuning for). Any other symbolic dim (a sequence length) has no sensible default and needs a range. Static dims
    /// stay fixed; fully static inputs get no profile: ORT builds those at session creation without one.
    /// </summary>
    public static IReadOnlyList<ShapeProfile> Resolve(IReadOnlyList<InputSpec> inputs, IReadOnlyDictionary<string, DimRange> ranges, int maxBatch)
    {
        if (maxBatch < 1)
            throw new ModelForgeException(DiagnosticCode.EngineTargetInvalid, $"--max-batch {maxBatch} is not positive", null,
                $"use a batch size of 1 or more; the default is {EngineTarget.DefaultMaxBatch}");
        var batchDim = BatchDim.Of(inputs);
        var defaultBatch = new DimRange(1, maxBatch, maxBatch);
        var result = new List<ShapeProfile>();
        foreach (var spec in inputs.Where(i => i.Dims.Any(d => !d.IsStatic)))
        {
            var dims = spec.Dims.Select((dim, index) => dim.Value is { } size ? new DimRange(size, size, size)
                : ranges.TryGetValue(dim.Symbol!, out var range) ? range
                : dim.Symbol == batchDim ? defaultBatch
                : throw new ModelForgeException(DiagnosticCode.EngineProfileInvalid,
                    $"input {spec} has symbolic dim '{dim.Symbol}' (dim {index}), which is not the batch dim, and no range", null,
                    $"give its range, e.g. --dim {dim.Symbol}=1/128/512 (in a spec: \"dims\": {{ \"{dim.Symbol}\": {{ \"min\": 1, \"opt\": 128, \"max\": 512 }} }})")).ToList();
            result.Add(new ShapeProfile(spec.Name, dims.Select(d => d.Min).ToList(), dims.Select(d => d.Opt).ToList(), dims.Select(d => d.Max).ToList()));
        }
        return result;
    }

    /// <summary>
    /// The dim ranges that legacy whole-input profiles (<c>--profile</c>) give, to merge into <paramref name="ranges"/>
    /// (from <c>--dim</c>). A profile must name a declared input, once, have its rank and keep its static dims; a dim that
    /// two profiles (or a profile and a <c>--dim</c>) range differently is refused, since the inputs share it at run time.
    /// </summary>
    public static IReadOnlyDictionary<string, DimRange> WithProfiles(IReadOnlyList<InputSpec> inputs, IReadOnlyDictionary<string, DimRange> ranges,
        IReadOnlyList<ShapeProfile> profiles)
    {
        var merged = new Dictionary<string, DimRange>(ranges, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var profile in profiles)
        {
            var spec = inputs.FirstOrDefault(i => i.Name == profile.Input)
                ?? throw ShapeProfile.Invalid(profile.ToString(), $"names input '{profile.Input}', which is not declared (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
            if (!seen.Add(profile.Input))
                throw ShapeProfile.Invalid(profile.ToString(), $"is the second profile for input '{profile.Input}'; " +
                    "ORT's TensorRT provider only ever selects its first profile at run time, so give one per input");
            if (profile.Min.Count != spec.Dims.Count)
                throw ShapeProfile.Invalid(profile.ToString(), $"has rank {profile.Min.Count} but input {spec} has rank {spec.Dims.Count}");
            for (var i = 0; i < spec.Dims.Count; i++)
            {
                var range = new DimRange(profile.Min[i], profile.Opt[i], profile.Max[i]);
                if (spec.Dims[i].Value is { } size)
                {
                    if (range != new DimRange(size, size, size))
                        throw ShapeProfile.Invalid(profile.ToString(), $"changes dim {i} of input {spec}, which is static ({size})");
                }
                else if (!merged.TryAdd(spec.Dims[i].Symbol!, range) && merged[spec.Dims[i].Symbol!] != range)
                    throw ShapeProfile.Invalid(profile.ToString(), $"gives dim '{spec.Dims[i].Symbol}' the range {range}, but it already has " +
                        $"{merged[spec.Dims[i].Symbol!]}; inputs that share a dim share its range");
            }
        }
        return merged;
    }
}
