using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using ModelForge.Validate.Compare;

namespace ModelForge.Validate.Reports;

/// <summary>
/// The machine-readable report: everything in the <see cref="ValidationReport"/>, as indented UTF-8 JSON with
/// camelCase names in a fixed order (written by hand, not by reflection, so the order is part of the format).
/// <list type="bullet">
/// <item><c>"schemaVersion": 1</c> comes first; bump it when a property changes meaning or is removed.</item>
/// <item>Numbers are JSON numbers in the shortest round-trip form. JSON has no NaN or infinity, so a non-finite
/// value is written as the string <c>"NaN"</c>, <c>"Infinity"</c> or <c>"-Infinity"</c> — the spelling
/// System.Text.Json reads back with <see cref="System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals"/>
/// and Python's <c>float()</c> accepts. A consumer therefore sees either a number or one of those three strings.</item>
/// <item>Durations are seconds (<c>…Seconds</c> properties, numbers); times are UTC ISO 8601.</item>
/// <item>Absent values (a passing output's <c>failureReason</c>, statistics of outputs whose shapes differ) are <c>null</c>,
/// never left out, so every object of one kind has the same properties.</item>
/// <item>Enums are strings: statuses in camelCase (<c>"passed"</c>, <c>"failed"</c>, <c>"unavailable"</c>), element types
/// by their <see cref="ModelForge.Model.DataType"/> name (<c>"Float32"</c>).</item>
/// <item>Candidate options are written sorted by key (ordinal).</item>
/// <item><c>skipped</c> lists the optional candidates that were not run because their provider cannot run here, each as
/// <c>{"candidate": "onnxruntime-cuda", "reason": "…"}</c> (empty when none was skipped); they are not in <c>runs</c>.</item>
/// </list>
/// </summary>
public static class JsonReport
{
    public const int SchemaVersion = 1;

    private static readonly JsonWriterOptions Options = new()
    {
        Indented = true,
        NewLine = "\n",
        // The file is never embedded in HTML, so keep paths and messages readable ("<", "'", non-ASCII unescaped);
        // quotes, backslashes and control characters are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(ValidationReport report, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stream);

        using (var json = new Utf8JsonWriter(stream, Options))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", SchemaVersion);
            json.WriteString("toolVersion", report.ToolVersion);
            json.WriteString("finishedAt", ReportFormat.Timestamp(report.FinishedAt));
            json.WriteBoolean("passed", report.Passed);
            json.WriteString("modelPath", report.ModelPath);
            json.WriteString("onnxPath", report.OnnxPath);
            json.WriteString("reference", report.Reference);
            WriteNumber(json, "referenceTimeSeconds", report.ReferenceTime.TotalSeconds);
            json.WriteNumber("seed", report.Seed);

            WriteLongs(json, "batchSizes", report.BatchSizes.Select(b => (long)b));

            json.WriteStartArray("inputs");
            foreach (var input in report.Inputs)
            {
                json.WriteStartObject();
                json.WriteString("name", input.Name);
                json.WriteString("elementType", input.ElementType);
                json.WriteString("dims", input.Dims);
                json.WriteString("source", input.Source);
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteStartArray("runs");
            foreach (var run in report.Runs)
                WriteRun(json, run);
            json.WriteEndArray();

            json.WriteStartArray("skipped");
            foreach (var skipped in report.Skipped)
            {
                json.WriteStartObject();
                json.WriteString("candidate", skipped.Name);
                json.WriteString("reason", skipped.Reason);
                json.WriteEndObject();
            }
            json.WriteEndArray();

            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }

    private static void WriteRun(Utf8JsonWriter json, CandidateRun run)
    {
        json.WriteStartObject();
        json.WriteString("candidate", run.Candidate.Name);
        json.WriteString("executionProvider", run.Candidate.ExecutionProvider);
        json.WriteStartObject("options");
        foreach (var (key, value) in run.Candidate.Options.OrderBy(o => o.Key, StringComparer.Ordinal))
            json.WriteString(key, value);
        json.WriteEndObject();
        json.WriteNumber("batchSize", run.BatchSize);
        json.WriteString("status", JsonNamingPolicy.CamelCase.ConvertName(run.Status.ToString()));
        json.WriteString("reason", run.Reason);
        WriteNumber(json, "inferenceTimeSeconds", run.InferenceTime.TotalSeconds);
        json.WriteStartArray("outputs");
        foreach (var output in run.Outputs)
            WriteOutput(json, output);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteOutput(Utf8JsonWriter json, OutputComparison output)
    {
        json.WriteStartObject();
        json.WriteString("output", output.Output);
        json.WriteBoolean("passed", output.Passed);
        json.WriteString("failureReason", output.FailureReason);

        json.WriteStartObject("expected");
        json.WriteString("type", output.ExpectedType.ToString());
        WriteLongs(json, "shape", output.ExpectedShape);
        json.WriteEndObject();
        json.WriteStartObject("actual");
        json.WriteString("type", output.ActualType.ToString());
        WriteLongs(json, "shape", output.ActualShape);
        json.WriteEndObject();

        json.WriteStartObject("tolerance");
        WriteNumber(json, "atol", output.Tolerance.Atol);
        WriteNumber(json, "rtol", output.Tolerance.Rtol);
        json.WriteEndObject();

        if (output.Statistics is { } s)
        {
            json.WriteStartObject("statistics");
            json.WriteNumber("elementCount", s.ElementCount);
            json.WriteNumber("mismatchCount", s.MismatchCount);
            WriteNumber(json, "maxAbsError", s.MaxAbsError);
            WriteNumber(json, "meanAbsError", s.MeanAbsError);
            WriteNumber(json, "medianAbsError", s.MedianAbsError);
            WriteNumber(json, "p99AbsError", s.P99AbsError);
            WriteNumber(json, "maxRelError", s.MaxRelError);
            WriteNumber(json, "meanRelError", s.MeanRelError);
            WriteNumber(json, "medianRelError", s.MedianRelError);
            WriteNumber(json, "p99RelError", s.P99RelError);
            WriteNumber(json, "cosineSimilarity", s.CosineSimilarity);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("statistics");
        }

        if (output.Histogram is { } h)
        {
            json.WriteStartObject("histogram");
            WriteDoubles(json, "edges", h.Edges);
            WriteLongs(json, "counts", h.Counts);
            json.WriteNumber("exactCount", h.ExactCount);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("histogram");
        }

        json.WriteStartArray("worstMismatches");
        foreach (var m in output.WorstMismatches)
        {
            json.WriteStartObject();
            WriteLongs(json, "index", m.Index);
            WriteNumber(json, "expected", m.Expected);
            WriteNumber(json, "actual", m.Actual);
            WriteNumber(json, "absError", m.AbsError);
            WriteNumber(json, "relError", m.RelError);
            json.WriteEndObject();
        }
        json.WriteEndArray();

        if (output.TopK is { } topK)
        {
            json.WriteStartObject("topK");
            json.WriteNumber("k", topK.K);
            json.WriteNumber("rows", topK.Rows);
            json.WriteNumber("agreeingRows", topK.AgreeingRows);
            WriteNumber(json, "rate", topK.Rate);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("topK");
        }

        if (output.Precision is { } precision)
        {
            json.WriteStartObject("precision");
            json.WriteString("name", precision.Name);
            WriteNumber(json, "cosine", precision.Metrics.Cosine);
            WriteNumber(json, "sqnrDb", precision.Metrics.SqnrDb);
            WriteOptionalNumber(json, "top1Agreement", precision.Metrics.Top1);
            WriteOptionalNumber(json, "top5Agreement", precision.Metrics.Top5);
            json.WriteStartObject("thresholds");
            WriteNumber(json, "minCosine", precision.Thresholds.MinCosine);
            WriteOptionalNumber(json, "minSqnrDb", precision.Thresholds.MinSqnrDb);
            WriteOptionalNumber(json, "minTop1", precision.Thresholds.MinTop1);
            WriteOptionalNumber(json, "minTop5", precision.Thresholds.MinTop5);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("precision");
        }
        json.WriteEndObject();
    }

    /// <summary>Number arrays (shapes, indices, histogram bins) go on one line: "[8, 1000]", not one number per line.</summary>
    private static void WriteLongs(Utf8JsonWriter json, string name, IEnumerable<long> values)
    {
        json.WritePropertyName(name);
        json.WriteRawValue("[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]");
    }

    private static void WriteDoubles(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WritePropertyName(name);
        json.WriteRawValue("[" + string.Join(", ", values.Select(NumberToken)) + "]");
    }

    /// <summary>The JSON token for a double, the same as <see cref="WriteNumberValue"/> writes.</summary>
    private static string NumberToken(double value) =>
        double.IsNaN(value) ? "\"NaN\""
        : double.IsPositiveInfinity(value) ? "\"Infinity\""
        : double.IsNegativeInfinity(value) ? "\"-Infinity\""
        : (value == 0 ? 0 : value).ToString("R", CultureInfo.InvariantCulture);

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        json.WritePropertyName(name);
        WriteNumberValue(json, value);
    }

    private static void WriteOptionalNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) WriteNumber(json, name, v);
        else json.WriteNull(name);
    }

    /// <summary>A finite double as a number; NaN and ±infinity as "NaN", "Infinity", "-Infinity" (JSON has no literal for them).</summary>
    private static void WriteNumberValue(Utf8JsonWriter json, double value)
    {
        if (double.IsNaN(value))
            json.WriteStringValue("NaN");
        else if (double.IsPositiveInfinity(value))
            json.WriteStringValue("Infinity");
        else if (double.IsNegativeInfinity(value))
            json.WriteStringValue("-Infinity");
        else
            json.WriteNumberValue(value == 0 ? 0 : value);
    }
}
