/*
 * app IN0 [IN1 ...] OUT0 [OUT1 ...]: runs the C-interface model utvm_add_model() added, on
 * raw input files, and writes its raw outputs; prints one line per output: "<name> <dtype>
 * <bytes>", from the tables <utvm/model.h> declares.
 */
#include <stdio.h>
#include <utvm/model.h>
#include <utvm/runtime.h>

UTVM_MODEL_DECLARE(model);

static _Alignas(64) unsigned char heap[16u << 20];

static int transfer(const char* path, void* data, size_t nbytes, int writing) {
  FILE* f = fopen(path, writing ? "wb" : "rb");
  if (f == NULL) return 1;
  size_t done = writing ? fwrite(data, 1, nbytes, f) : fread(data, 1, nbytes, f);
  return (fclose(f) != 0 || done != nbytes) ? 1 : 0;
}

int main(int argc, char** argv) {
  const int ni = utvm_model_model_num_inputs, no = utvm_model_model_num_outputs;
  if (argc != 1 + ni + no) {
    fprintf(stderr, "usage: app <%d input files> <%d output files>\n", ni, no);
    return 2;
  }
  if (utvm_heap_init(heap, sizeof(heap)) != 0 || TVMInitializeRuntime() != 0) return 1;
  void* data[64];
  for (int i = 0; i < ni + no; i++) {
    const utvm_model_tensor_t* t = i < ni ? &utvm_model_model_inputs[i]
                                          : &utvm_model_model_outputs[i - ni];
    if (utvm_data_alloc(t->nbytes, 64, &data[i]) != 0) return 1;
    if (i < ni && transfer(argv[1 + i], data[i], t->nbytes, 0) != 0) {
      fprintf(stderr, "error: cannot read %zu bytes from %s\n", t->nbytes, argv[1 + i]);
      return 1;
    }
  }
  int32_t status = utvm_model_model_run(data, data + ni);
  if (status != 0) {
    fprintf(stderr, "error: the model's run returned %d\n", (int)status);
    return 1;
  }
  for (int i = 0; i < no; i++) {
    const utvm_model_tensor_t* t = &utvm_model_model_outputs[i];
    if (transfer(argv[1 + ni + i], data[ni + i], t->nbytes, 1) != 0) return 1;
    printf("%s %s %zu\n", t->name, t->dtype, t->nbytes);
  }
  return 0;
}
