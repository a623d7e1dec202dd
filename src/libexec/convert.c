/* convert.c -- partsfs-convert, the format converter partsfs runs as a
 * confined job: reads a mesh with libassimp and writes it as glTF binary. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <assimp/cexport.h>
#include <assimp/cimport.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>

int
main(int argc, char **argv)
{
	const struct aiScene *scene;

	if (argc != 3) {
		fprintf(stderr, "usage: partsfs-convert INPUT.stl OUTPUT.glb\n");
		return 2;
	}
	scene = aiImportFile(argv[1], aiProcess_JoinIdenticalVertices |
	    aiProcess_Triangulate | aiProcess_ValidateDataStructure);
	if (scene == NULL) {
		fprintf(stderr, "partsfs-convert: reading %s: %s\n", argv[1],
		    aiGetErrorString());
		return 1;
	}
	if (scene->mNumMeshes == 0) {
		fprintf(stderr, "partsfs-convert: %s holds no mesh\n", argv[1]);
		aiReleaseImport(scene);
		return 1;
	}
	if (aiExportScene(scene, "glb2", argv[2], 0) != AI_SUCCESS) {
		fprintf(stderr, "partsfs-convert: writing %s: %s\n", argv[2],
		    aiGetErrorString());
		aiReleaseImport(scene);
		return 1;
	}
	aiReleaseImport(scene);
	return 0;
}
