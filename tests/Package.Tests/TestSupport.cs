using System.Runtime.CompilerServices;
using Google.Protobuf;
using ModelForge.Convert;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.Package.Processing;
using Onnx;

namespace ModelForge.Package.Tests;

/// <summary>
/// Real converted models, made once for the whole test assembly: fixtures/models/resnet18_small (one float input,
/// batch dim dynamic) and fixtures/validate/multi_io (float + int64 inputs, float + int64 outputs, one of rank 1).
/// </summary>
public sealed class Models : IDisposable
{
    public static readonly InputSpec ResNetInput = InputSpec.Parse("x:float32[batch,3,64,64]");
    public static readonly InputSpec[] MultiIoInputs = [InputSpec.Parse("x:float32[batch,4]"), InputSpec.Parse("ids:int64[batch,6]")];
    public static readonly string ResNetPt = RepoPaths.Fixture("models", "resnet18_small", "model.pt");
    public static readonly string MultiIoPt = RepoPaths.Fixture("validate", "multi_io.pt");

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("modelforge-package-models-").FullName;
    public string ResNetOnnx { get; }
    public string MultiIoOnnx { get; }

    public Models()
    {
        ResNetOnnx = Convert(ResNetPt, [ResNetInput], "resnet");
        MultiIoOnnx = Convert(MultiIoPt, MultiIoInputs, "multi_io");
    }

    public string Convert(string pt, IReadOnlyList<InputSpec> inputs, string name)
    {
        var path = Path.Combine(Directory, name + ".onnx");
        using var result = ModelConverter.Convert(pt, new ConvertOptions(inputs));
        result.WriteTo(path);
        return path;
    }

    /// <summary>A copy of <paramref name="onnxPath"/> that <paramref name="change"/> has broken, for the rule tests.</summary>
    public string Mutate(string onnxPath, string name, Action<ModelProto> change)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        change(model);
        var path = Path.Combine(Directory, name + ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition(Name)]
public sealed class ModelsCollection : ICollectionFixture<Models>
{
    public const string Name = "converted models";
}

/// <summary>Tests that set process environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment";
}

internal static class Requests
{
    /// <summary>A fixed time so golden archives do not depend on file times: 2025-03-17 11:20:57 UTC.</summary>
    public static readonly DateTimeOffset Time = new(2025, 3, 17, 11, 20, 57, TimeSpan.Zero);

    public static readonly BatchingConfig Batching = new(8, [4, 8], 100, 2);

    public static PackageRequest ResNet(Models models, DeviceKind device = DeviceKind.Cpu) => new()
    {
        ModelName = "resnet",
        OnnxPath = models.ResNetOnnx,
        TorchScriptPath = Models.ResNetPt,
        Inputs = [Models.ResNetInput],
        Batching = Batching,
        Device = device,
        Timestamp = Time,
    };

    public static PackageRequest MultiIo(Models models) => new()
    {
        ModelName = "multi_io",
        OnnxPath = models.MultiIoOnnx,
        TorchScriptPath = Models.MultiIoPt,
        Inputs = Models.MultiIoInputs,
        Batching = new BatchingConfig(16, [], 0, 1),
        Timestamp = Time,
    };
}

/// <summary>
/// The processing of the ensemble goldens (ensemble.*.pbtxt) around ResNet: 96×80 BGR HWC images, softmax, top-k,
/// argmax and a 10-line label file, fused too; the ONNX files written to <paramref name="folder"/>.
/// </summary>
internal static class EnsembleProcessing
{
    public static (ProcessingPlan Plan, ProcessingFiles Files) ResNet(Models models, string folder, int topK = 3)
    {
        Directory.CreateDirectory(folder);
        var labels = Path.Combine(folder, "labels.txt");
        File.WriteAllLines(labels, Enumerable.Range(0, 10).Select(i => $"class_{i}"));
        var options = new ProcessingOptions
        {
            Preprocess = new ImagePreprocess
            {
                Layout = ImageLayout.Hwc, ChannelOrder = ChannelOrder.Bgr, Height = 96, Width = 80,
                Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f],
            },
            Postprocess = new ClassifierPostprocess { Softmax = true, TopK = topK, Argmax = true, LabelFile = labels },
            Fused = true,
        };
        var plan = ProcessingPlan.Resolve(options, models.ResNetOnnx, null);
        return (plan, ProcessingFiles.Write(plan, "resnet", folder));
    }
}

internal static class Golden
{
    public static void Check(string actual, string name, [CallerFilePath] string sourceFile = "") =>
        GoldenFiles.Check(actual, GoldenFiles.Directory(sourceFile, "tests", "Package.Tests", "Golden"), name);
}

internal static class Rules
{
    /// <summary>Asserts the call fails with <paramref name="code"/> and a message that contains <paramref name="rule"/>, and has a hint.</summary>
    public static ModelForgeException Fails(DiagnosticCode code, string rule, Action action)
    {
        var e = Assert.Throws<ModelForgeException>(action);
        Assert.Equal(code, e.Code);
        Assert.Contains(rule, e.Diagnostics[0].Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(e.Diagnostics[0].Hint));
        return e;
    }
}

/// <summary>
/// A small reader of protobuf text format, enough to prove config.pbtxt is well formed (balanced blocks, commas between
/// list elements, one value per field) and to look fields up: a message is a list of (field, value) pairs where a value
/// is a string, a scalar token, a list, or a nested message.
/// </summary>
internal sealed class TextProto
{
    public List<(string Field, object Value)> Fields { get; } = [];

    public IEnumerable<object> All(string field) => Fields.Where(f => f.Field == field).Select(f => f.Value);

    public object One(string field) => Assert.Single(All(field));

    public TextProto Message(string field) => Assert.IsType<TextProto>(One(field));

    public List<TextProto> Messages(string field) =>
        All(field).SelectMany(v => v is List<object> list ? list.Cast<TextProto>() : [(TextProto)v]).ToList();

    public List<long> Longs(string field) => Assert.IsType<List<object>>(One(field)).Select(v => long.Parse((string)v)).ToList();

    public static TextProto Parse(string text)
    {
        var tokens = Tokenize(text);
        var position = 0;
        var message = ParseMessage(tokens, ref position, topLevel: true);
        Assert.Equal(tokens.Count, position);
        return message;
    }

    private static TextProto ParseMessage(List<string> tokens, ref int position, bool topLevel)
    {
        var message = new TextProto();
        while (position < tokens.Count && tokens[position] != "}")
        {
            var field = tokens[position++];
            Assert.Matches("^[A-Za-z_][A-Za-z0-9_]*$", field);
            var colon = tokens[position] == ":";
            if (colon) position++;
            message.Fields.Add((field, ParseValue(tokens, ref position, colon)));
        }
        if (!topLevel) { Assert.Equal("}", tokens[position]); position++; }
        return message;
    }

    private static object ParseValue(List<string> tokens, ref int position, bool colon)
    {
        var token = tokens[position++];
        if (token == "{") return ParseMessage(tokens, ref position, topLevel: false);
        if (token == "[")
        {
            var list = new List<object>();
            while (tokens[position] != "]")
            {
                list.Add(ParseValue(tokens, ref position, true));
                if (tokens[position] == ",") { position++; Assert.NotEqual("]", tokens[position]); }
                else Assert.Equal("]", tokens[position]);
            }
            position++;
            return list;
        }
        Assert.True(colon, $"scalar '{token}' needs a ':' before it");
        return token;
    }

    private static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '#') { while (i < text.Length && text[i] != '\n') i++; continue; }
            if ("{}[]:,".Contains(c)) { tokens.Add(c.ToString()); i++; continue; }
            if (c == '"')
            {
                var end = i + 1;
                while (text[end] != '"') end += text[end] == '\\' ? 2 : 1;
                tokens.Add(text[(i + 1)..end]);
                i = end + 1;
                continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && !"{}[]:,#".Contains(text[i])) i++;
            tokens.Add(text[start..i]);
        }
        return tokens;
    }
}
