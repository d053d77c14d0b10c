using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using ModelForge.Package.KServe;
using ModelForge.Package.Triton;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ModelForge.Package.Tests;

/// <summary>
/// Both InferenceServices, CPU and GPU, against the part of KServe's InferenceService CRD they use
/// (Schemas/kserve-inferenceservice.schema.json, vendored with its source and license; made by extract_kserve_schema.py),
/// and manifests broken one field at a time, which must fail.
/// </summary>
[Collection(ModelsCollection.Name)]
public sealed class KServeSchemaTests(Models models) : IDisposable
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "kserve-inferenceservice.schema.json"))));

    private readonly string _out = Directory.CreateTempSubdirectory("modelforge-kserve-schema-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    public static TheoryData<DeviceKind> Devices => [DeviceKind.Cpu, DeviceKind.Gpu];

    [Theory]
    [MemberData(nameof(Devices))]
    public void Both_inference_services_match_kserves_crd(DeviceKind device)
    {
        var request = Requests.ResNet(models, device);
        var kserve = new KServeOptions("gs://bucket/models/resnet") { TritonRuntimeVersion = "24.05-py3" };
        Assert.Empty(Errors(KServeWriter.WriteTorchServe(request, _out, kserve).InferenceServiceYaml));
        Assert.Empty(Errors(KServeWriter.WriteTriton(request, _out, kserve, new TritonOptions()).InferenceServiceYaml));
    }

    [Fact]
    public void The_ensembles_inference_service_matches_kserves_crd()
    {
        var processing = EnsembleProcessing.ResNet(models, Path.Combine(_out, "processing"));
        var yaml = KServeWriter.WriteTriton(Requests.ResNet(models), _out, new KServeOptions("gs://bucket/models/resnet"), new TritonOptions(), processing).InferenceServiceYaml;
        Assert.Contains("modelforge.dev/model: \"resnet_ensemble\"", yaml);
        Assert.Empty(Errors(yaml));
    }

    [Theory]
    [InlineData("storageUri:", "storageURI:", "storageURI")]                             // a misspelled field: kubectl's strict validation refuses it
    [InlineData("memory: \"", "memory: \"4GB", "pattern")]                               // not a Kubernetes quantity
    [InlineData("name: resnet-torchserve", "name: ResNet-torchserve", "pattern")]        // KServe's name rule
    [InlineData("name: resnet-torchserve", "name: resnet-torchserve-with-a-name-far-too-long-for-its-predictor", "maxLength")]
    [InlineData("modelFormat:\n        name: pytorch", "modelFormat:\n        version: \"1\"", "name")] // modelFormat needs a name
    [InlineData("serving.kserve.io/v1beta1", "serving.kserve.io/v1alpha1", "const")]
    [InlineData("    model:\n", "    minReplicas: one\n    model:\n", "type")]         // a predictor field of the wrong type
    public void A_manifest_broken_in_one_field_fails(string find, string replace, string expected)
    {
        var yaml = KServeWriter.WriteTorchServe(Requests.ResNet(models), _out, new KServeOptions("s3://models/resnet")).InferenceServiceYaml;
        var broken = yaml.Replace(find, replace, StringComparison.Ordinal);
        Assert.NotEqual(yaml, broken);
        var errors = Errors(broken);
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    /// <summary>The schema's complaints about <paramref name="yaml"/>, "location: keyword: message"; none when it is valid.</summary>
    private static List<string> Errors(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        using var document = JsonDocument.Parse(ToJson(stream.Documents.Single().RootNode)!.ToJsonString());
        var result = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (result.IsValid) return [];
        // A quantity is anyOf [integer, string]: the branch it is not is no error of its own.
        return (result.Details ?? []).Where(d => d.Errors is not null && !d.EvaluationPath.ToString().Contains("/anyOf/", StringComparison.Ordinal))
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}"))
            .ToList();
    }

    /// <summary>YAML to JSON as Kubernetes reads it (YAML 1.2 core schema): plain scalars may be numbers, booleans or null; quoted ones are strings.</summary>
    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, ToJson(p.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar => scalar.Value switch
        {
            null or "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var text when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            var text => JsonValue.Create(text),
        },
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };
}
