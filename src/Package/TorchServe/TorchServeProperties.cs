using System.Text;
using System.Text.Json;
using ModelForge.Package.IO;

namespace ModelForge.Package.TorchServe;

/// <summary>
/// <c>config.properties</c> files that register an archive at TorchServe startup (serving.md §1.5, §4.3). Both repeat
/// the archive's model-config.yaml values (the YAML inside the archive wins where both are read).
/// </summary>
public static class TorchServeProperties
{
    public const string FileName = "config.properties";

    /// <summary>The model store of the TorchServe container image (<c>pytorch/torchserve</c>).</summary>
    public const string DefaultModelStore = "/home/model-server/model-store";

    /// <summary>KServe mounts the storage URI at /mnt/models; its TorchServe runtime reads the store from model-store/ there.</summary>
    public const string KServeModelStore = "/mnt/models/model-store";

    /// <summary>
    /// Standalone TorchServe: default ports, <c>load_models=name=archive</c> and the same values in <c>models=</c>
    /// (keyed by name and the manifest's modelVersion). Token authorization stays at TorchServe's default (on).
    /// </summary>
    public static string Standalone(TorchServeArchivePlan archive, string modelStore = DefaultModelStore)
    {
        var text = Header(archive);
        text.Append("inference_address=http://0.0.0.0:8080\n");
        text.Append("management_address=http://0.0.0.0:8081\n");
        text.Append("metrics_address=http://0.0.0.0:8082\n");
        text.Append("model_store=").Append(Escape(modelStore)).Append('\n');
        text.Append("load_models=").Append(archive.ModelName).Append('=').Append(archive.StoreName).Append('\n');
        if (archive.HasRequirements) text.Append("install_py_dep_per_model=true\n");
        text.Append("models=").Append(Json(json =>
        {
            json.WriteStartObject();
            json.WriteStartObject(archive.ModelName);
            json.WriteStartObject(archive.ModelVersion);
            WriteValues(json, archive.Config);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        })).Append('\n');
        return text.ToString();
    }

    /// <summary>
    /// The KServe TorchServe runtime's file (config/config.properties under the storage URI): TorchServe off port 8080
    /// (the KServe wrapper owns it), envvars on for <c>TS_SERVICE_ENVELOPE</c>, token authorization off (the wrapper's
    /// readiness probe fails otherwise, pytorch/serve#3301), and a <c>model_snapshot</c> whose key is the name requests use.
    /// </summary>
    public static string KServe(TorchServeArchivePlan archive)
    {
        var text = Header(archive);
        text.Append("inference_address=http://0.0.0.0:8085\n");
        text.Append("management_address=http://0.0.0.0:8085\n");
        text.Append("metrics_address=http://0.0.0.0:8082\n");
        text.Append("grpc_inference_port=7070\n");
        text.Append("grpc_management_port=7071\n");
        text.Append("enable_envvars_config=true\n");
        text.Append("enable_metrics_api=true\n");
        text.Append("metrics_mode=prometheus\n");
        if (archive.HasRequirements) text.Append("install_py_dep_per_model=true\n");
        text.Append("load_models=all\n");
        text.Append("model_store=").Append(KServeModelStore).Append('\n');
        text.Append("disable_token_authorization=true\n");
        text.Append("model_snapshot=").Append(Json(json =>
        {
            json.WriteStartObject();
            json.WriteString("name", "startup.cfg");
            json.WriteNumber("modelCount", 1);
            json.WriteStartObject("models");
            json.WriteStartObject(archive.ModelName);
            json.WriteStartObject(archive.ModelVersion);
            json.WriteBoolean("defaultVersion", true);
            json.WriteString("marName", archive.StoreName);
            WriteValues(json, archive.Config);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        })).Append('\n');
        return text.ToString();
    }

    /// <summary>Writes <paramref name="text"/> atomically.</summary>
    public static void WriteTo(string path, string text) => TextOutput.Write(path, text);

    private static StringBuilder Header(TorchServeArchivePlan archive) =>
        new StringBuilder("# TorchServe configuration written by ModelForge for model '").Append(archive.ModelName)
            .Append("' version ").Append(archive.ModelVersion).Append(".\n");

    /// <summary>The keys TorchServe reads with getAsInt (values &lt;= 0 fall back to defaults, which the archive checks ruled out).</summary>
    private static void WriteValues(Utf8JsonWriter json, TorchServeModelConfig config)
    {
        json.WriteNumber("minWorkers", config.MinWorkers);
        json.WriteNumber("maxWorkers", config.MaxWorkers);
        json.WriteNumber("batchSize", config.BatchSize);
        json.WriteNumber("maxBatchDelay", config.MaxBatchDelayMilliseconds);
        json.WriteNumber("responseTimeout", config.ResponseTimeoutSeconds);
    }

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
            write(json);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Java properties values: backslashes escaped (a path on Windows); everything else here is plain ASCII.</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal);
}
