namespace GpuCnn.Serialization.Onnx;

/// <summary>Options of <see cref="OnnxExport"/>.</summary>
public sealed class OnnxExportOptions
{
    /// <summary>
    /// Batch size written into the input and output shapes, or null (the default) for a dynamic batch axis named
    /// <see cref="BatchAxisName"/>.
    /// </summary>
    public int? BatchSize { get; init; }

    /// <summary>Name of the dynamic batch axis (ONNX <c>dim_param</c>).</summary>
    public string BatchAxisName { get; init; } = "N";

    /// <summary>Written to <c>ModelProto.producer_name</c>.</summary>
    public string ProducerName { get; init; } = "GpuCnn";

    /// <summary>Written to <c>ModelProto.doc_string</c>.</summary>
    public string? DocString { get; init; }
}
